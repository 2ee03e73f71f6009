// The whole network for one digit: a column per stage, faint connections, one unit clickable.
// Drawn from the numbers the page sends (data.net: JSON of explainer.overview.Overview.to_dict);
// a click sends the unit's name ("conv2:5:7:7", numbers from 1) as the trigger value "unit".

const NEG = [178, 24, 43], MID = [247, 247, 247], POS = [33, 102, 172];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

function colour(v, col) {
  if (col.signed) {
    const t = Math.max(-1, Math.min(1, v / (col.high || 1)));
    return t >= 0 ? mix(MID, POS, t) : mix(MID, NEG, -t);
  }
  const t = Math.max(0, Math.min(1, (v - col.low) / ((col.high - col.low) || 1)));
  const g = Math.round(255 * t);
  return [g, g, g];
}

function css(rgb) {
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
}

function fmt(v) {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}

function short(v) {
  return Math.abs(v) >= 10 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v === 0 ? "0" : v.toFixed(2);
}

function say(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : `{${k}}`));
}

function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

// A map [H][W] painted on a canvas of H×W pixels (scaled up by CSS, pixels kept square and sharp).
function paint(canvas, map, col) {
  const h = map.length, w = map[0].length;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const rgb = colour(map[r][c], col), i = 4 * (r * w + c);
      img.data[i] = rgb[0]; img.data[i + 1] = rgb[1]; img.data[i + 2] = rgb[2]; img.data[i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

function parseUnit(text) {
  if (!text) return null;
  const parts = String(text).split(":");
  return { stage: parts[0], index: parts.slice(1).map((p) => parseInt(p, 10) - 1) };
}

function draw(root, spec, setTriggerValue) {
  root.innerHTML = "";
  const net = spec.net, texts = spec.texts, columns = net.columns;
  const width = Math.max(root.clientWidth || 0, 600);
  const n = columns.length;
  // widths by what a column holds: maps need room, the strip little, the probabilities their percentages
  const weight = (c) => (c.maps ? 1 : c.kind === "flatten" ? 0.55 : c.kind === "softmax" ? 1.45 : 0.85);
  const total = columns.reduce((a, c) => a + weight(c), 0);
  const lefts = [];
  columns.reduce((a, c) => { lefts.push(a); return a + (weight(c) / total) * width; }, 0);
  const big = !!spec.presenting;
  const head = big ? 72 : 50, foot = big ? 62 : 54, area = big ? 380 : 400, gap = 4;
  const height = head + area + foot;
  root.style.height = `${height}px`;
  root.classList.toggle("ov-big", big);
  const selected = parseUnit(spec.selected);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "ov-lines");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  root.appendChild(svg);
  const tip = el("div", "ov-tip", null);
  const boxes = []; // per column: [{x, y, w, h, el}] of each drawn map or unit, in column order

  columns.forEach((col, k) => {
    const x0 = lefts[k], colW = (weight(col) / total) * width;
    const title = el("div", "ov-head", root);
    title.style.left = `${x0}px`;
    title.style.width = `${colW}px`;
    el("div", "ov-name", title).textContent = col.name;
    el("div", "ov-kind", title).textContent = texts.kinds[col.kind] || col.kind;
    const items = [];
    if (col.maps) {
      const count = col.maps.length, mh = col.maps[0].length, mw = col.maps[0][0].length;
      let best = { size: 0, sub: 1 };
      for (let sub = 1; sub <= 3; sub++) {
        const rows = Math.ceil(count / sub);
        const size = Math.min((colW - 14 - (sub - 1) * gap) / sub, (area - (rows - 1) * gap) / rows, big ? 150 : 120);
        if (size > best.size + 0.5) best = { size, sub };
      }
      const rows = Math.ceil(count / best.sub), s = Math.floor(best.size);
      const blockW = best.sub * s + (best.sub - 1) * gap, blockH = rows * s + (rows - 1) * gap;
      const left = x0 + (colW - blockW) / 2, top = head + (area - blockH) / 2;
      col.maps.forEach((map, m) => {
        const r = m % rows, c = Math.floor(m / rows);
        const x = left + c * (s + gap), y = top + r * (s + gap);
        const canvas = el("canvas", "ov-map", root);
        paint(canvas, map, col);
        Object.assign(canvas.style, { left: `${x}px`, top: `${y}px`, width: `${s}px`, height: `${s}px` });
        canvas.dataset.unit = `${col.name}:${m + 1}`;
        const pixel = (ev) => {
          const rect = canvas.getBoundingClientRect();
          const pr = Math.min(mh - 1, Math.max(0, Math.floor(((ev.clientY - rect.top) / rect.height) * mh)));
          const pc = Math.min(mw - 1, Math.max(0, Math.floor(((ev.clientX - rect.left) / rect.width) * mw)));
          return [pr, pc];
        };
        canvas.addEventListener("mousemove", (ev) => {
          const [pr, pc] = pixel(ev);
          const label = count > 1 ? say(texts.pixel, { stage: col.name, map: m + 1, row: pr + 1, col: pc + 1, value: fmt(map[pr][pc]) })
            : say(texts.pixel_one, { stage: col.name, row: pr + 1, col: pc + 1, value: fmt(map[pr][pc]) });
          showTip(label, ev);
        });
        canvas.addEventListener("click", (ev) => {
          const [pr, pc] = pixel(ev);
          const name = `${col.name}:${m + 1}:${pr + 1}:${pc + 1}`;
          choose(k, m);
          root.dataset.selected = name;
          setTriggerValue("unit", name);
        });
        items.push({ x, y, w: s, h: s, el: canvas, index: m });
        if (selected && selected.stage === col.name && selected.index[0] === m) {
          mark(x, y, s, mh, mw, selected.index[1], selected.index[1], selected.index[2], selected.index[2], "ov-pick");
        }
      });
      // the window the selected unit reads, on every map of this column that feeds it
      const next = columns[k + 1];
      if (selected && next && next.name === selected.stage && next.window && next.maps) {
        const [size, stride, pad] = next.window;
        const r0 = selected.index[1] * stride - pad, c0 = selected.index[2] * stride - pad;
        items.forEach((it) => {
          if (next.feeds === "all" || it.index === selected.index[0]) {
            mark(it.x, it.y, it.w, mh, mw, r0, r0 + size - 1, c0, c0 + size - 1, "ov-window");
          }
        });
      }
    } else if (col.kind === "flatten") {
      const values = col.units, count = values.length;
      const w = Math.min(16, colW / 4), x = x0 + (colW - w) / 2, y = head + 4, h = area - 8;
      const canvas = el("canvas", "ov-map ov-strip", root);
      canvas.width = 1;
      canvas.height = count;
      const ctx = canvas.getContext("2d"), img = ctx.createImageData(1, count);
      values.forEach((v, i) => {
        const rgb = colour(v, col);
        img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
      });
      ctx.putImageData(img, 0, 0);
      Object.assign(canvas.style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px` });
      canvas.dataset.unit = `${col.name}`;
      const at = (ev) => {
        const rect = canvas.getBoundingClientRect();
        return Math.min(count - 1, Math.max(0, Math.floor(((ev.clientY - rect.top) / rect.height) * count)));
      };
      canvas.addEventListener("mousemove", (ev) => {
        const i = at(ev);
        showTip(say(texts.unit, { stage: col.name, unit: i + 1, value: fmt(values[i]) }), ev);
      });
      canvas.addEventListener("click", (ev) => {
        const name = `${col.name}:${at(ev) + 1}`;
        choose(k, 0);
        root.dataset.selected = name;
        setTriggerValue("unit", name);
      });
      items.push({ x, y, w, h, el: canvas, index: 0, segments: count });
      if (selected && selected.stage === col.name) {
        const line = el("div", "ov-pick ov-pick-line", root);
        Object.assign(line.style, { left: `${x - 3}px`, top: `${y + (selected.index[0] / count) * h - 1}px`, width: `${w + 6}px` });
      }
    } else {
      const shown = col.shown, count = shown.length;
      const classes = col.kind === "logits" || col.kind === "softmax";
      const rowH = Math.min(big ? 36 : 30, (area - 24) / count);
      const cell = Math.max(8, Math.min(rowH - 4, big ? 26 : 20));
      const blockH = count * rowH, top = head + (area - blockH - (col.more ? 20 : 0)) / 2;
      shown.forEach((unit, j) => {
        const v = col.units[j], y = top + j * rowH;
        const row = el("div", "ov-unit", root);
        Object.assign(row.style, { left: `${x0 + 6}px`, top: `${y}px`, width: `${colW - 12}px`, height: `${rowH}px` });
        row.dataset.unit = `${col.name}:${unit + 1}`;
        const label = classes ? net.classes[unit] : `#${unit + 1}`;
        if (col.kind === "softmax") {
          el("span", "ov-label", row).textContent = label;
          const bar = el("span", "ov-bar", row);
          bar.style.width = `${Math.max(1, v * (big ? 42 : 55))}%`;
          el("span", "ov-pct", row).textContent = `${(v * 100).toFixed(v >= 0.995 || v < 0.001 ? 0 : 1)}%`;
          if (unit === net.prediction) row.classList.add("ov-predicted");
        } else {
          const sq = el("span", "ov-cell", row);
          Object.assign(sq.style, { width: `${cell}px`, height: `${cell}px`, background: css(colour(v, col)) });
          el("span", "ov-label", row).textContent = label;
          if (col.kind === "logits" && unit === net.prediction) row.classList.add("ov-predicted");
        }
        row.addEventListener("mousemove", (ev) => {
          const name = classes ? say(texts.class_unit, { stage: col.name, label, value: fmt(v) })
            : say(texts.unit, { stage: col.name, unit: unit + 1, value: fmt(v) });
          showTip(name, ev);
        });
        row.addEventListener("click", () => {
          const name = `${col.name}:${unit + 1}`;
          choose(k, j);
          root.dataset.selected = name;
          setTriggerValue("unit", name);
        });
        const anchorY = y + rowH / 2;
        items.push({ x: x0 + 6, y: anchorY - cell / 2, w: col.kind === "softmax" ? colW - 12 : cell, h: cell, el: row, index: unit });
        if (selected && selected.stage === col.name && selected.index[0] === unit) row.classList.add("ov-chosen");
      });
      if (col.more) {
        const more = el("div", "ov-more", root);
        Object.assign(more.style, { left: `${x0}px`, top: `${top + blockH + 2}px`, width: `${colW}px` });
        more.textContent = say(texts.more, { n: col.more });
      }
    }
    boxes.push(items);
    // the column's shape and colour scale
    const legend = el("div", "ov-foot", root);
    Object.assign(legend.style, { left: `${x0}px`, top: `${head + area + 4}px`, width: `${colW}px` });
    el("div", "ov-shape", legend).textContent = `[${col.shape.join(colW < 110 ? "," : ", ")}]`;
    const scale = el("div", "ov-scale", legend);
    scale.style.background = col.signed ? `linear-gradient(90deg, ${css(NEG)}, ${css(MID)}, ${css(POS)})`
      : `linear-gradient(90deg, ${css(colour(col.low, col))}, ${css(colour(col.high, col))})`;
    const ends = el("div", "ov-ends", legend);
    if (colW < 70 || big) { // a narrow column, or large type: one label, "low – high"
      ends.classList.add("ov-ends-one");
      el("span", "", ends).textContent = `${short(col.low)}–${short(col.high)}`;
    } else {
      el("span", "", ends).textContent = fmt(col.low);
      if (col.signed) el("span", "", ends).textContent = "0";
      el("span", "", ends).textContent = fmt(col.high);
    }
  });

  // connections: from the right edge of each source to the left edge of what it feeds
  const lines = []; // {k, to, from, el}
  const line = (a, b, k, to, from) => {
    const l = document.createElementNS("http://www.w3.org/2000/svg", "line");
    l.setAttribute("x1", a[0]); l.setAttribute("y1", a[1]); l.setAttribute("x2", b[0]); l.setAttribute("y2", b[1]);
    l.setAttribute("class", "ov-link");
    svg.appendChild(l);
    lines.push({ k, to, from, el: l });
  };
  for (let k = 1; k < n; k++) {
    const col = columns[k], prev = boxes[k - 1], here = boxes[k];
    here.forEach((t, ti) => {
      const into = [t.x, t.y + t.h / 2];
      let sources = [];
      if (col.feeds === "same") {
        sources = prev.filter((s) => s.index === t.index).map((s, si) => [s, prev.indexOf(s)]);
      } else if (col.feeds === "flatten" && prev.length > 0) {
        // each previous map feeds its own stretch of the strip
        const per = prev.length;
        prev.forEach((s, si) => {
          const y = t.y + ((si + 0.5) / per) * t.h;
          line([s.x + s.w, s.y + s.h / 2], [t.x, y], k, ti, si);
        });
        return;
      } else {
        sources = prev.map((s, si) => [s, si]);
      }
      sources.forEach(([s, si]) => {
        if (s.segments) { // a strip feeding units: a fan from points along it
          for (let p = 0; p < 8; p++) line([s.x + s.w, s.y + ((p + 0.5) / 8) * s.h], into, k, ti, si);
        } else {
          line([s.x + s.w, s.y + s.h / 2], into, k, ti, si);
        }
      });
    });
  }

  function light(k, i, cls) {
    root.querySelectorAll(`.${cls}`).forEach((e) => e.classList.remove(cls));
    if (k === null) return;
    lines.forEach((l) => { if (l.k === k && l.to === i) l.el.classList.add(cls); });
    const feeders = new Set(lines.filter((l) => l.k === k && l.to === i).map((l) => l.from));
    if (k > 0) boxes[k - 1].forEach((b, bi) => { if (feeders.has(bi)) b.el.classList.add(cls); });
    boxes[k][i].el.classList.add(cls);
  }
  function choose(k, i) { light(k, i, "ov-sel"); }
  function showTip(text, ev) {
    tip.textContent = text;
    const box = root.getBoundingClientRect();
    let x = ev.clientX - box.left + 14, y = ev.clientY - box.top + 14;
    if (x > width - 230) x = ev.clientX - box.left - 230;
    Object.assign(tip.style, { left: `${x}px`, top: `${y}px`, display: "block" });
  }
  function mark(x, y, s, mh, mw, r0, r1, c0, c1, cls) {
    const b = el("div", cls, root);
    const ph = s / mh, pw = s / mw;
    const top = Math.max(0, r0), bottom = Math.min(mh - 1, r1), left = Math.max(0, c0), right = Math.min(mw - 1, c1);
    Object.assign(b.style, { left: `${x + left * pw - 1}px`, top: `${y + top * ph - 1}px`,
      width: `${(right - left + 1) * pw + 2}px`, height: `${(bottom - top + 1) * ph + 2}px` });
  }

  boxes.forEach((items, k) => items.forEach((it, i) => {
    it.el.addEventListener("mouseenter", () => light(k, i, "ov-lit"));
    it.el.addEventListener("mouseleave", () => { light(null, 0, "ov-lit"); tip.style.display = "none"; });
  }));
  root.appendChild(tip);
  if (selected) {
    const k = columns.findIndex((c) => c.name === selected.stage);
    if (k >= 0) {
      const i = columns[k].maps ? selected.index[0] : columns[k].kind === "flatten" ? 0 : boxes[k].findIndex((b) => b.index === selected.index[0]);
      if (i >= 0) choose(k, i);
    }
    root.dataset.selected = spec.selected;
  }
  root.dataset.columns = String(n);
  root.dataset.links = String(lines.length);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector(".ov-root");
  if (!root) root = el("div", "ov-root", parentElement);
  if (root._observer) root._observer.disconnect();
  const spec = { ...data, net: typeof data.net === "string" ? JSON.parse(data.net) : data.net };
  let lastWidth = -1;
  const render = () => {
    const w = root.clientWidth;
    if (w === lastWidth) return;
    lastWidth = w;
    draw(root, spec, setTriggerValue);
  };
  render();
  root._observer = new ResizeObserver(render);
  root._observer.observe(root);
  return () => root._observer && root._observer.disconnect();
}
