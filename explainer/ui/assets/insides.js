// The network's insides while it trains: the first layer's weights, one digit's feature maps, the
// probabilities of eight test digits and the confusion matrix — live (one frame, redrawn as the
// page polls) or as a replay (every frame sent once; the slider and Play run here, in the browser).
// Frames are explainer.snapshots.Snapshot.to_dict(): images as bytes 0–255 in base64.

const NEG = [178, 24, 43], MID = [247, 247, 247], POS = [33, 102, 172];
const GOOD = "#1a9850", BAD = "#f46d43", BAR = "#9aa0a6";

function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function say(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, k) => (k in values ? values[k] : `{${k}}`));
}

function bytes(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

// one image of a stack [n, h, w] painted on a canvas of h×w pixels (CSS scales it up, pixels stay sharp)
function paint(canvas, values, offset, h, w, signed) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = values[offset + i];
    let rgb;
    if (signed) {
      const t = (v - 128) / 127;
      rgb = t >= 0 ? mix(MID, POS, t) : mix(MID, NEG, -t);
    } else {
      rgb = [v, v, v];
    }
    img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

function stack(parent, image, size, cls) {
  const [n, h, w] = image.shape, values = image.values || (image.values = bytes(image.b64));
  const grid = el("div", `ti-stack ${cls || ""}`, parent);
  for (let k = 0; k < n; k++) {
    const c = el("canvas", "ti-img", grid);
    c.style.width = `${size}px`;
    c.style.height = `${Math.max(2, Math.round((size * h) / w))}px`;
    paint(c, values, k * h * w, h, w, image.signed);
  }
  return grid;
}

function digitCanvas(parent, b64, size) {
  const c = el("canvas", "ti-img ti-digit", parent);
  c.style.width = c.style.height = `${size}px`;
  paint(c, bytes(b64), 0, 28, 28, false);
  return c;
}

function panel(root, title, note) {
  const p = el("div", "ti-panel", root);
  el("div", "ti-title", p, title);
  if (note) el("div", "ti-note", p, note);
  return p;
}

function draw(root, spec, frame) {
  const f = spec.frames[frame], t = spec.texts, big = !!spec.presenting;
  const box = root.querySelector(".ti-panels") || el("div", "ti-panels", root);
  box.innerHTML = "";
  // 1. the first layer's weights
  const kind = f.weights_kind, n = f.weights.shape[0], small = f.weights.shape[1] <= 7;
  const wp = panel(box, t[`weights_${kind}`], t.weights_note);
  stack(wp, f.weights, small ? (big ? 46 : 38) : (big ? 62 : 50), small ? "ti-kernels" : "");
  wp.dataset.count = String(n);
  // 2. one digit's feature maps
  if (f.maps) {
    const mp = panel(box, say(t.maps, { index: spec.digit.index + 1, label: spec.digit.label }));
    const row = el("div", "ti-row", mp);
    digitCanvas(row, spec.digit.img, big ? 60 : 48);
    el("div", "ti-arrow", row, "→");
    stack(row, f.maps, big ? 50 : 42);
  }
  // 3. eight test digits: their ten probabilities, the right class in green
  const pp = panel(box, t.probs, t.probs_note);
  const strip = el("div", "ti-strip", pp);
  spec.watch.forEach((d, i) => {
    const cell = el("div", "ti-watch", strip), probs = f.probs[i] || [];
    digitCanvas(cell, d.img, big ? 40 : 32);
    const bars = el("div", "ti-bars", cell);
    let best = 0;
    probs.forEach((p, c) => { if (p > probs[best]) best = c; });
    probs.forEach((p, c) => {
      const b = el("div", "ti-bar", bars);
      b.style.height = `${Math.max(1, Math.round(p * 100))}%`;
      b.style.background = c === d.label ? GOOD : c === best ? BAD : BAR;
      b.title = `${spec.classes[c]}: ${(100 * p).toFixed(1)}%`;
    });
    const right = probs[d.label] || 0;
    const line = el("div", `ti-pct ${best === d.label ? "ti-right" : "ti-wrong"}`, cell,
      `${spec.classes[d.label]}: ${(100 * right).toFixed(0)}%`);
    line.title = best === d.label ? t.right : say(t.wrong, { label: spec.classes[best] });
    cell.dataset.right = String(best === d.label);
  });
  // 4. the confusion matrix, each row as percentages of that class
  const cp = panel(box, say(t.confusion, { acc: (100 * f.accuracy).toFixed(1) }), t.confusion_note);
  const k = f.confusion.length, cell = big ? 22 : 17;
  const cm = el("canvas", "ti-cm", cp);
  const dpr = window.devicePixelRatio || 1, side = (k + 1) * cell;
  cm.width = side * dpr; cm.height = side * dpr;
  cm.style.width = cm.style.height = `${side}px`;
  const ctx = cm.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.font = `${big ? 14 : 11}px sans-serif`;
  ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.fillStyle = "#666";
  for (let c = 0; c < k; c++) {
    ctx.fillText(spec.classes[c].slice(0, 2), (c + 1.5) * cell, cell / 2);
    ctx.fillText(spec.classes[c].slice(0, 2), cell / 2, (c + 1.5) * cell);
  }
  f.confusion.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((v, c) => {
      const share = v / total;
      const rgb = r === c ? mix([255, 255, 255], [26, 152, 80], share) : mix([255, 255, 255], [215, 48, 39], Math.min(1, share * 3));
      ctx.fillStyle = `rgb(${rgb})`;
      ctx.fillRect((c + 1) * cell, (r + 1) * cell, cell - 1, cell - 1);
    });
  });
  root.dataset.step = String(f.step);
  root.dataset.frame = String(frame);
}

function timeline(root, spec, show) {
  const t = spec.texts, frames = spec.frames, last = frames.length - 1;
  const bar = el("div", "ti-timeline", root);
  const play = el("button", "ti-play", bar, "▶ " + t.play);
  const range = el("input", "ti-range", bar);
  Object.assign(range, { type: "range", min: 0, max: String(last), step: 1 });
  range.setAttribute("aria-label", t.scrub);
  const label = el("div", "ti-label", bar);
  const spark = el("canvas", "ti-spark", root);
  let timer = null;
  const losses = frames.map((f) => f.loss);
  function sparkline(i) {
    const w = root.clientWidth || 600, h = 44, dpr = window.devicePixelRatio || 1;
    spark.width = w * dpr; spark.height = h * dpr; spark.style.width = `${w}px`; spark.style.height = `${h}px`;
    const ctx = spark.getContext("2d");
    ctx.scale(dpr, dpr);
    const known = losses.filter((v) => v !== null);
    if (!known.length) return;
    const hi = Math.max(...known), lo = Math.min(...known), span = hi - lo || 1;
    const x = (j) => 4 + ((w - 8) * j) / Math.max(1, last), y = (v) => 4 + (h - 8) * (1 - (v - lo) / span);
    ctx.strokeStyle = "#1f77b4"; ctx.lineWidth = 1.5; ctx.beginPath();
    let started = false;
    losses.forEach((v, j) => { if (v === null) return; if (started) ctx.lineTo(x(j), y(v)); else { ctx.moveTo(x(j), y(v)); started = true; } });
    ctx.stroke();
    ctx.strokeStyle = "#ff4b4b"; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(x(i), 0); ctx.lineTo(x(i), h); ctx.stroke();
  }
  function go(i) {
    i = Math.max(0, Math.min(last, i));
    root._frame = i;
    range.value = String(i);
    const f = frames[i];
    label.textContent = say(t.at, { step: f.step, steps: spec.total_steps, epoch: f.epoch,
      loss: f.loss === null ? "—" : f.loss.toFixed(3), acc: (100 * f.accuracy).toFixed(1) });
    show(i);
    sparkline(i);
  }
  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = "▶ " + t.play;
    root.dataset.playing = "false";
  }
  play.addEventListener("click", () => {
    if (timer) return stop();
    if (root._frame >= last) go(0);
    play.textContent = "❚❚ " + t.pause;
    root.dataset.playing = "true";
    timer = setInterval(() => (root._frame >= last ? stop() : go(root._frame + 1)), spec.presenting ? 220 : 160);
  });
  range.addEventListener("input", () => { stop(); go(parseInt(range.value, 10)); });
  root._stop = stop;
  // at the newest frame (or new here): follow the run to its newest; scrubbed back: stay there
  const follow = root._frame === undefined || root._frame >= (root._last ?? last) || root._frame > last;
  root._last = last;
  go(follow ? last : root._frame);
}

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".ti-root");
  if (!root) root = el("div", "ti-root", parentElement);
  if (root._stop) root._stop();
  const spec = { ...data, frames: typeof data.frames === "string" ? JSON.parse(data.frames) : data.frames };
  root.classList.toggle("ti-big", !!spec.presenting);
  if (root._key !== spec.key) {  // another run, or live → replay: start from its last frame
    root._key = spec.key;
    root._frame = undefined;
  }
  root.innerHTML = "";
  if (!spec.frames || !spec.frames.length) return;
  if (spec.live || spec.frames.length === 1) {
    draw(root, spec, spec.frames.length - 1);
    const f = spec.frames[spec.frames.length - 1];
    el("div", "ti-label ti-live", root, say(spec.texts.live, { step: f.step, steps: spec.total_steps, epoch: f.epoch }));
    root.dataset.mode = "live";
    return;
  }
  root.dataset.mode = "replay";
  el("div", "ti-panels", root);  // the pictures first, the timeline under them
  timeline(root, spec, (i) => draw(root, spec, i));
}
