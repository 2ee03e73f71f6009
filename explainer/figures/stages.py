"""Figures for the hand-set stages: grids with their numbers, one window of a sliding window,
activation curves, flatten order, W·x + b, and softmax bars.

A sliding-window figure shows one step; the page's step control (Previous / Play / Next and
a slider, :func:`explainer.ui.widgets.stepper`) is the only counter, so the figure, the
sentence under it and the address never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..i18n import t
from ..stages import ActivationResult, ConvResult, FlattenResult, GradientFlow, LinearResult, PoolResult, SoftmaxResult, fmt, fmt_exact
from .common import HIGHLIGHT, MARK, PADDING_SCALE, SIGNED_SCALE, TEST_COLOR, TRAIN_COLOR, layout

PLACEHOLDER_SCALE = [[0.0, "#f2f2f2"], [1.0, "#f2f2f2"]]
ACTIVATION_COLORS = {"relu": "#0072B2", "leaky_relu": "#56B4E9", "sigmoid": "#D55E00", "tanh": "#CC79A7", "gelu": "#009E73"}


def _texts(values: torch.Tensor | np.ndarray) -> list[list[str]]:
    return [[fmt(float(v)) for v in row] for row in np.asarray(values, dtype=float)]


def _scale(*tensors: torch.Tensor) -> float:
    """The largest finite |value|: the colour scale is symmetric around 0."""
    finite = [float(x[torch.isfinite(x)].abs().max()) for x in tensors if torch.isfinite(x).any()]
    return max(finite + [1e-9])


def _font_size(rows: int, cols: int) -> int:
    return 18 if max(rows, cols) <= 5 else 15 if max(rows, cols) <= 8 else 12


def _grid(z, text, zmax: float, *, scale=SIGNED_SCALE, size: int = 16, name: str = "", hover: bool = True) -> go.Heatmap:
    return go.Heatmap(
        z=z,
        text=text,
        texttemplate="%{text}",
        textfont={"size": size, "color": "#111"},
        colorscale=scale,
        zmin=-zmax,
        zmax=zmax,
        showscale=False,
        xgap=2,
        ygap=2,
        name=name,
        hovertemplate=("row %{y}, col %{x}: %{text}<extra></extra>" if hover else None),
        hoverinfo=None if hover else "skip",
    )


def _axis_ref(index: int) -> tuple[str, str]:
    suffix = "" if index == 1 else str(index)
    return f"x{suffix}", f"y{suffix}"


def _rect(panel: int, r0: float, c0: float, r1: float, c1: float, color: str, width: float = 3, dash: str = "solid") -> dict:
    xref, yref = _axis_ref(panel)
    return {
        "type": "rect", "xref": xref, "yref": yref,
        "x0": c0 - 0.5, "x1": c1 + 0.5, "y0": r0 - 0.5, "y1": r1 + 0.5,
        "line": {"color": color, "width": width, "dash": dash}, "fillcolor": "rgba(0,0,0,0)",
    }


@dataclass(frozen=True)
class _Step:
    cells: tuple[tuple[int, int], ...]  # padded-input cells under the window
    middle_z: list
    middle_text: list
    out: tuple[int, int]
    caption: str
    marked: tuple[tuple[int, int], ...] = ()


def _sliding_window_figure(
    padded: torch.Tensor,
    padding_mask: torch.Tensor,
    padding_text: str,
    kernel: torch.Tensor | None,
    steps: Sequence[_Step],
    output: torch.Tensor,
    titles: Sequence[str],
    current: int,
    middle_zmax: float,
    lang: str,
) -> go.Figure:
    """Input (padded) | [kernel] | the current window's arithmetic | output, at step ``current``.

    """
    current = min(max(current, 0), len(steps) - 1)
    ph, pw = padded.shape
    kh, kw = len(steps[0].middle_z), len(steps[0].middle_z[0])
    oh, ow = output.shape
    widths = [pw] + ([kernel.shape[1]] if kernel is not None else []) + [kw, ow]
    fig = make_subplots(rows=1, cols=len(widths), column_widths=[w + 1.5 for w in widths],
                        subplot_titles=list(titles), horizontal_spacing=0.05)
    panel_input, panel_middle, panel_output = 1, len(widths) - 1, len(widths)
    size = _font_size(ph, pw)
    zmax = _scale(padded, output, *([kernel] if kernel is not None else []))

    inside = torch.where(padding_mask, torch.full_like(padded, float("nan")), padded)
    fig.add_trace(_grid(inside.tolist(), _texts(torch.where(padding_mask, 0, padded)), zmax, size=size), 1, 1)
    pad_z = torch.where(padding_mask, torch.zeros_like(padded), torch.full_like(padded, float("nan")))
    pad_text = [[padding_text if m else "" for m in row] for row in padding_mask.tolist()]
    fig.add_trace(_grid(pad_z.tolist(), pad_text, 1, scale=PADDING_SCALE, size=size, hover=False), 1, 1)
    if kernel is not None:
        fig.add_trace(_grid(kernel.tolist(), _texts(kernel), _scale(kernel), size=size), 1, 2)
    step = steps[current]
    fig.add_trace(_grid(step.middle_z, step.middle_text, middle_zmax, size=max(11, size - 3)), 1, panel_middle)
    fig.add_trace(_grid(np.zeros((oh, ow)).tolist(), [[""] * ow for _ in range(oh)], 1, scale=PLACEHOLDER_SCALE, hover=False), 1, panel_output)

    def output_trace(upto: int) -> go.Heatmap:
        z = np.full((oh, ow), np.nan)
        text = [[""] * ow for _ in range(oh)]
        for s in steps[: upto + 1]:
            r, c = s.out
            z[r, c] = float(output[r, c])
            text[r][c] = fmt(float(output[r, c]))
        return _grid(z.tolist(), text, zmax, size=size)

    fig.add_trace(output_trace(current), 1, panel_output)

    static_shapes = []
    if bool(padding_mask.any()):
        rows = torch.nonzero(~padding_mask)
        static_shapes.append(_rect(panel_input, int(rows[:, 0].min()), int(rows[:, 1].min()), int(rows[:, 0].max()), int(rows[:, 1].max()), "#555", 2))

    def step_shapes(s: _Step) -> list[dict]:
        shapes = [_rect(panel_input, r, c, r, c, HIGHLIGHT, 3) for r, c in s.cells]
        rows = [r for r, _ in s.cells]
        cols = [c for _, c in s.cells]
        if len(s.cells) > 1:
            shapes.append(_rect(panel_input, min(rows), min(cols), max(rows), max(cols), HIGHLIGHT, 1.5, "dot"))
        shapes += [_rect(panel_input, r, c, r, c, MARK, 4) for r, c in s.marked]
        shapes.append(_rect(panel_middle, 0, 0, kh - 1, kw - 1, HIGHLIGHT, 3))
        shapes.append(_rect(panel_output, s.out[0], s.out[1], s.out[0], s.out[1], HIGHLIGHT, 4))
        return static_shapes + shapes

    for annotation in fig.layout.annotations:  # the panel titles
        annotation.font = {"size": 16}
    title_annotations = list(fig.layout.annotations)

    def annotations(s: _Step) -> list:
        caption = {"text": s.caption, "xref": "paper", "yref": "paper", "x": 0.5, "y": -0.13, "showarrow": False,
                   "font": {"size": 17}, "xanchor": "center"}
        return title_annotations + [caption]

    fig.update_layout(shapes=step_shapes(step), annotations=annotations(step))
    for i in range(1, len(widths) + 1):
        xref, yref = _axis_ref(i)
        fig.update_layout({f"xaxis{'' if i == 1 else i}": {"visible": False, "constrain": "domain"},
                           f"yaxis{'' if i == 1 else i}": {"visible": False, "autorange": "reversed", "scaleanchor": xref, "constrain": "domain"}})
    layout(fig, min(170 + 58 * max(ph, oh, kh), 700))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 60, "b": 60})
    return fig


def conv_figure(result: ConvResult, step: int, lang: str) -> go.Figure:
    """The convolution at ``step`` (0-based): window on the padded input, kernel, products, output."""
    mask = result.padding_mask()
    bias = result.settings.bias
    steps = []
    for win in result.windows:
        text = [[f"{fmt(v)}×{fmt(k)}<br>= {fmt(p)}" for v, k, p in zip(vr, kr, pr)]
                for vr, kr, pr in zip(win.values.tolist(), result.kernel.tolist(), win.products.tolist())]
        terms = " + ".join(fmt(p) for p in win.products.flatten().tolist())
        bias_text = f" + {fmt(bias)}" if bias else ""
        caption = t("fig.conv_caption", lang, row=win.out_row + 1, col=win.out_col + 1, terms=terms, bias=bias_text, total=fmt(win.total))
        cells = tuple((r, c) for r in win.rows for c in win.cols)
        steps.append(_Step(cells, win.products.tolist(), text, (win.out_row, win.out_col), caption))
    zmax = _scale(*[w.products for w in result.windows])
    titles = [t("fig.input_padded", lang) if result.settings.padding else t("fig.input", lang), t("fig.kernel", lang),
              t("fig.products", lang), t("fig.output", lang)]
    return _sliding_window_figure(result.padded, mask, "0", result.kernel, steps, result.output, titles, step, zmax, lang)


def pool_figure(result: PoolResult, step: int, lang: str) -> go.Figure:
    """Pooling at ``step``: the window on the padded input, its values (the winner marked), the output."""
    mask = result.padding_mask()
    is_max = result.settings.kind == "max"
    k = result.settings.kernel
    steps = []
    for win in result.windows:
        text = _texts(win.values)
        z = torch.where(torch.isfinite(win.values), win.values, torch.zeros_like(win.values)).tolist()
        marked: tuple[tuple[int, int], ...] = ()
        if is_max:
            r, c = win.winner
            text[r - win.rows[0]][c - win.cols[0]] = f"<b>{text[r - win.rows[0]][c - win.cols[0]]}</b> ✓"
            marked = (win.winner,)
            caption = t("fig.max_caption", lang, row=win.out_row + 1, col=win.out_col + 1,
                        values=", ".join(fmt(v) for v in win.values.flatten().tolist()), total=fmt(win.result))
        else:
            caption = t("fig.avg_caption", lang, row=win.out_row + 1, col=win.out_col + 1,
                        values=" + ".join(fmt(v) for v in win.values.flatten().tolist()), n=k * k, total=fmt(win.result))
        cells = tuple((r, c) for r in win.rows for c in win.cols)
        steps.append(_Step(cells, z, text, (win.out_row, win.out_col), caption, marked))
    titles = [t("fig.input_padded", lang) if result.settings.padding else t("fig.input", lang), t("fig.window", lang), t("fig.output", lang)]
    zmax = _scale(result.padded, result.output)
    return _sliding_window_figure(result.padded, mask, "−∞" if is_max else "0", None, steps, result.output, titles, step, zmax,
                                  lang)


def activation_grid_figure(result: ActivationResult, lang: str) -> go.Figure:
    """Input and output grid side by side; cells the activation switched off framed in red."""
    h, w = result.input.shape
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t("fig.before", lang), t("fig.after", lang, name=t(f"act.{result.name}", lang))],
                        horizontal_spacing=0.08)
    zmax = _scale(result.input, result.output)
    size = _font_size(h, w)
    fig.add_trace(_grid(result.input.tolist(), _texts(result.input), zmax, size=size), 1, 1)
    exact = [[fmt_exact(float(v)) for v in row] for row in result.output.tolist()]  # sigmoid(14) is not 1
    fig.add_trace(_grid(result.output.tolist(), exact, zmax, size=size), 1, 2)
    shapes = []
    for r, c in torch.nonzero(result.zeroed).tolist():
        shapes += [_rect(1, r, c, r, c, MARK, 3), _rect(2, r, c, r, c, MARK, 3)]
    fig.update_layout(shapes=shapes)
    for i in (1, 2):
        xref, _ = _axis_ref(i)
        fig.update_layout({f"xaxis{'' if i == 1 else i}": {"visible": False, "constrain": "domain"},
                           f"yaxis{'' if i == 1 else i}": {"visible": False, "autorange": "reversed", "scaleanchor": xref, "constrain": "domain"}})
    layout(fig, min(140 + 50 * h, 560))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def activation_curves_figure(data: dict[str, tuple[list[float], list[float], list[float]]], lang: str) -> go.Figure:
    """Each activation (left) and its slope (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t("fig.activation", lang), t("fig.slope", lang)], horizontal_spacing=0.1)
    for name, (x, y, dy) in data.items():
        label = t(f"act.{name}", lang)
        color = ACTIVATION_COLORS.get(name, "#333")
        fig.add_trace(go.Scatter(x=x, y=y, name=label, line={"color": color, "width": 3}, legendgroup=name), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=dy, name=label, line={"color": color, "width": 3, "dash": "dot"}, legendgroup=name, showlegend=False), 1, 2)
    fig.update_xaxes(title_text="x", zeroline=True, zerolinecolor="#999")
    fig.update_yaxes(zeroline=True, zerolinecolor="#999")
    return layout(fig, 400)


def gradient_flow_figure(flows: Sequence[GradientFlow], lang: str) -> go.Figure:
    """Mean gradient size per layer (log scale), first layer on the left."""
    fig = go.Figure()
    for flow in flows:
        fig.add_trace(go.Scatter(
            x=list(range(1, flow.depth + 1)), y=list(flow.gradients), mode="lines+markers",
            name=t(f"act.{flow.activation}", lang), line={"color": ACTIVATION_COLORS.get(flow.activation, "#333"), "width": 3},
        ))
    fig.update_yaxes(type="log", title_text=t("fig.gradient_size", lang), exponentformat="power")
    fig.update_xaxes(title_text=t("fig.layer", lang), dtick=1 if flows and flows[0].depth <= 20 else 5)
    return layout(fig, 400)


def flatten_figure(result: FlattenResult, lang: str) -> go.Figure:
    """The ``[C, H, W]`` block with each cell's position in the vector, and the vector itself."""
    c, h, w = result.input.shape
    n = len(result.vector)
    fig = make_subplots(rows=2, cols=c, row_heights=[0.72, 0.28], vertical_spacing=0.16, horizontal_spacing=0.06,
                        specs=[[{}] * c, [{"colspan": c}] + [None] * (c - 1)],
                        subplot_titles=[t("fig.channel", lang, c=i + 1) for i in range(c)] + [t("fig.vector", lang, n=n)])
    zmax = _scale(result.input)
    size = _font_size(h, w)
    for ci in range(c):
        text = [[f"{fmt(float(result.input[ci, hi, wi]))}<br><sub>#{ci * h * w + hi * w + wi}</sub>" for wi in range(w)] for hi in range(h)]
        fig.add_trace(_grid(result.input[ci].tolist(), text, zmax, size=size), 1, ci + 1)
        xref, _ = _axis_ref(ci + 1)
        fig.update_layout({f"xaxis{'' if ci == 0 else ci + 1}": {"visible": False, "constrain": "domain"},
                           f"yaxis{'' if ci == 0 else ci + 1}": {"visible": False, "autorange": "reversed", "scaleanchor": xref, "constrain": "domain"}})
    text = [[f"{fmt(float(v))}<br><sub>#{i}</sub>" for i, v in enumerate(result.vector.tolist())]]
    fig.add_trace(_grid([result.vector.tolist()], text, zmax, size=max(10, 16 - n // 6)), 2, 1)
    vec_axis = c + 1
    fig.update_layout({f"xaxis{vec_axis}": {"visible": False}, f"yaxis{vec_axis}": {"visible": False}})
    layout(fig, min(220 + 60 * h, 620))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def linear_figure(result: LinearResult, neuron: int, lang: str) -> go.Figure:
    """``W · x + b = y`` as four grids, the row of ``neuron`` framed."""
    k, d = result.weight.shape
    col = lambda v: [[float(x)] for x in v.tolist()]  # noqa: E731
    coltext = lambda v: [[fmt(float(x))] for x in v.tolist()]  # noqa: E731
    fig = make_subplots(rows=1, cols=4, column_widths=[d + 1, 2, 2, 2], horizontal_spacing=0.06,
                        subplot_titles=[t("fig.weight", lang, k=k, d=d), t("fig.x", lang, d=d), t("fig.bias", lang), t("fig.y", lang)])
    size = _font_size(max(k, d), max(k, d))
    fig.add_trace(_grid(result.weight.tolist(), _texts(result.weight), _scale(result.weight), size=size), 1, 1)
    fig.add_trace(_grid(col(result.input), coltext(result.input), _scale(result.input), size=size), 1, 2)
    fig.add_trace(_grid(col(result.bias), coltext(result.bias), _scale(result.bias), size=size), 1, 3)
    fig.add_trace(_grid(col(result.output), coltext(result.output), _scale(result.output), size=size), 1, 4)
    shapes = [_rect(1, neuron, 0, neuron, d - 1, HIGHLIGHT, 4), _rect(2, 0, 0, d - 1, 0, HIGHLIGHT, 2, "dot"),
              _rect(3, neuron, 0, neuron, 0, HIGHLIGHT, 4), _rect(4, neuron, 0, neuron, 0, HIGHLIGHT, 4)]
    fig.update_layout(shapes=shapes)
    for i in range(1, 5):
        fig.update_layout({f"xaxis{'' if i == 1 else i}": {"visible": False},
                           f"yaxis{'' if i == 1 else i}": {"visible": False, "autorange": "reversed"}})
    domains = [fig.layout[f"xaxis{'' if i == 1 else i}"].domain for i in range(1, 5)]
    for (left, right), symbol in zip(zip(domains, domains[1:]), ("·", "+", "=")):
        fig.add_annotation(text=f"<b>{symbol}</b>", x=(left[1] + right[0]) / 2, y=0.5, xref="paper", yref="paper",
                           showarrow=False, font={"size": 30})
    layout(fig, min(160 + 40 * max(k, d), 560))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def softmax_figure(result: SoftmaxResult, classes: Sequence[str], target: int | None, lang: str) -> go.Figure:
    """Logits (left) and the probabilities softmax makes of them (right); the true class highlighted."""
    names = [str(c) for c in classes]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t("fig.logits", lang), t("fig.probabilities", lang)], horizontal_spacing=0.1)
    colors = [TEST_COLOR if i == target else TRAIN_COLOR for i in range(len(names))]
    logits = result.logits.tolist()
    probs = result.probabilities.tolist()
    fig.add_trace(go.Bar(x=names, y=logits, marker_color=colors, text=[fmt(v) for v in logits], textposition="outside",
                         cliponaxis=False, showlegend=False), 1, 1)
    fig.add_trace(go.Bar(x=names, y=probs, marker_color=colors, text=[percent(p) for p in probs],
                         textposition="outside", cliponaxis=False, showlegend=False), 1, 2)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(type="category", title_text=t("fig.class", lang))
    layout(fig, 420)
    if target is not None and 0 <= target < len(names):
        fig.update_layout(title={"text": t("fig.target_note", lang, c=names[target]), "x": 0.0, "xanchor": "left",
                                 "font": {"size": 14, "color": TEST_COLOR}}, margin={"t": 80})
    return fig


def percent(p: float) -> str:
    """A probability as a percentage, small ones too: 97.3%, 0.0067%, < 0.0001% — never "6.7e-05" next to percentages."""
    if p == 0 or p >= 0.001:
        return f"{p:.1%}"
    if p >= 1e-6:
        return f"{p * 100:.2g}%"
    return "< 0.0001%"
