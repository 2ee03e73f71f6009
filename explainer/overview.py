"""The whole network at a glance, and how any one of its units was computed.

:func:`overview` turns a forward-pass :class:`~explainer.forward.Trace` into columns, one
per stage, in the order the data flows: a stage with maps ``[C, H, W]`` is a column of maps,
a vector ``[N]`` a column of units (the strongest ``top`` of a long one, the flattened
vector as one strip). Each column has one colour scale: symmetric around 0 when it has
negative values (``−b … 0 … +b``, ``b = max |v|``), ``0 … max`` otherwise.

:func:`explain` recomputes one unit from the layer's weights and the previous stage's
output, as a student would by hand, and keeps the network's own value beside it:

- convolution: ``out[m, i, j] = b_m + Σ_c Σ_u Σ_v W[m, c, u, v] · X_pad[c, i·s + u, j·s + v]``
  (one sum per input channel ``c``, then one bias);
- ReLU: ``max(0, x)``; max pooling: ``max`` over the window;
- flatten: ``flat[c·H·W + i·W + j] = x[c, i, j]``;
- fully connected: ``y_k = b_k + Σ_i W[k, i] · x_i`` (the terms ``W[k, i] · x_i`` sorted by size);
- softmax: ``p_k = exp(z_k − max z) / Σ_j exp(z_j − max z)``.

A unit is written ``stage:1-based indices`` — ``conv2:5:7:7`` is map 5, row 7, column 7
of conv2; ``fc1:12`` is unit 12 of fc1; ``softmax:8`` the probability of the eighth class.

    >>> view = overview(model, result)
    >>> explain(model, result, parse_unit("conv2:5:7:7", result)).total  # == the network's value
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .forward import ConvPixel, Stage, Trace, conv_pixel

TOP_UNITS = 12  # units drawn of a long vector column: its strongest ones
TOP_TERMS = 8  # terms of a fully connected sum written out: the largest |W·x|


@dataclass(frozen=True, eq=False)
class Column:
    """One stage as the overview draws it."""

    name: str
    kind: str  # the stage's kind: "input", "conv", "relu", "pool", "flatten", "linear", "logits", "softmax"
    layer: str
    shape: tuple[int, ...]  # without the batch dimension
    low: float  # the colour scale: low … high (low = −high when signed)
    high: float
    signed: bool
    values: torch.Tensor  # [C, H, W] or [N]
    shown: tuple[int, ...]  # the units drawn of a vector column (all maps of a map column)
    feeds: str  # how the previous column feeds this one: "none", "all" (every map/unit), "same" (map c → map c), "flatten"
    window: tuple[int, int, int] | None = None  # (size, stride, padding) of the window a conv or pool unit reads

    @property
    def is_maps(self) -> bool:
        return self.values.dim() == 3

    @property
    def hidden(self) -> int:
        """Units of a vector column that are not drawn ("+ n more")."""
        return 0 if self.is_maps else self.values.numel() - len(self.shown)


@dataclass(frozen=True, eq=False)
class Overview:
    columns: tuple[Column, ...]
    classes: tuple[str, ...]
    prediction: int
    probabilities: torch.Tensor

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self, digits: int = 3) -> dict[str, Any]:
        """Every column's shape, scale and values (rounded), and the prediction: JSON for the CLI and the page."""
        return {
            "columns": [_column_dict(c, digits) for c in self.columns],
            "classes": list(self.classes),
            "prediction": self.prediction,
            "probabilities": [round(float(p), 4) for p in self.probabilities],
        }


def _column_dict(c: Column, digits: int) -> dict[str, Any]:
    data: dict[str, Any] = {"name": c.name, "kind": c.kind, "layer": c.layer, "shape": list(c.shape),
                            "low": round(c.low, 4), "high": round(c.high, 4), "signed": c.signed, "feeds": c.feeds,
                            "window": list(c.window) if c.window else None}
    rounded = torch.round(c.values.double() * 10**digits) / 10**digits
    if c.is_maps:
        data["maps"] = rounded.tolist()
    else:
        values = rounded.tolist()
        data["shown"] = list(c.shown)
        data["units"] = [values[i] for i in c.shown] if c.kind != "flatten" else values
        data["more"] = c.hidden
    return data


def _strongest(values: torch.Tensor, top: int, kind: str) -> tuple[int, ...]:
    """The units of a vector column to draw: all of a short one, else the ``top`` largest (in index order).

    Largest by value, not size: after ReLU only positive units pass, and a negative pre-activation
    is one the next layer never sees.
    """
    n = values.numel()
    if n <= max(top, 16) or kind == "flatten":
        return tuple(range(n))
    return tuple(sorted(int(i) for i in torch.topk(values, top).indices))


def overview(model: nn.Module, result: Trace, classes: list[str] | tuple[str, ...] | None = None, top: int = TOP_UNITS) -> Overview:
    """The columns of ``result`` (one digit's trace through ``model``) as the overview draws them.

    A ReLU that follows a fully connected layer shows the same units as that layer, so its
    connections stay one to one.
    """
    columns: list[Column] = []
    previous: Column | None = None
    modules = dict(model.named_children())
    for stage in result.stages:
        values = stage.output[0].detach().to("cpu", torch.float32)
        low, high = float(values.min()), float(values.max())
        signed = low < 0
        bound = max(abs(low), abs(high)) or 1.0
        low, high = (-bound, bound) if signed else (0.0, high or 1.0)
        if stage.kind == "input":
            low, high = float(values.min()), float(values.max())
            signed = False
            if high <= low:
                high = low + 1.0
        if values.dim() == 1 and previous is not None and not previous.is_maps and previous.values.numel() == values.numel() \
                and stage.kind in ("relu", "softmax"):
            shown = previous.shown
        else:
            shown = tuple(range(values.shape[0])) if values.dim() == 3 else _strongest(values, top, stage.kind)
        columns.append(Column(stage.name, stage.kind, stage.layer, tuple(values.shape), low, high, signed, values, shown,
                              _feeds(stage, previous), _window(modules.get(stage.name))))
        previous = columns[-1]
    names = list(classes) if classes is not None else [str(i) for i in range(result.probabilities.numel())]
    return Overview(tuple(columns), tuple(names), result.prediction, result.probabilities.clone())


def _window(module: nn.Module | None) -> tuple[int, int, int] | None:
    """(size, stride, padding) of a square conv or pooling window: where on the previous maps a unit reads."""
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        k, s = _pair(module.kernel_size)[0], _pair(module.stride or module.kernel_size)[0]
        p = _pair(module.padding)[0] if not isinstance(module.padding, str) else 0
        return (k, s, p)
    return None


def _feeds(stage: Stage, previous: Column | None) -> str:
    """How the previous column feeds ``stage``: element-wise or map by map ("same"), laid out ("flatten"), or all of it.

    Softmax reads every logit (the sum below the fraction), so it is "all", like a layer with weights.
    """
    if previous is None:
        return "none"
    if stage.kind in ("relu", "pool"):
        return "same"
    return "flatten" if stage.kind == "flatten" else "all"


# --- one unit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    """A unit of a stage: ``index`` is 0-based (map, row, column) or (unit,)."""

    stage: str
    index: tuple[int, ...]

    @property
    def text(self) -> str:
        """As links and the CLI write it, 1-based: ``conv2:5:7:7``."""
        return ":".join([self.stage, *(str(i + 1) for i in self.index)])


class UnitError(ValueError):
    """A unit that is not one of this network's."""


def parse_unit(text: str, result: Trace) -> UnitRef:
    """``"conv2:5:7:7"`` → UnitRef("conv2", (4, 6, 6)), checked against the stages of ``result``."""
    parts = [p.strip() for p in str(text).strip().split(":")]
    stage = parts[0]
    if stage not in result.names:
        raise UnitError(f"No stage {stage!r}: the stages are {', '.join(result.names)}.")
    shape = result.stage(stage).shape[1:]
    if len(parts) - 1 != len(shape):
        where = "map:row:column" if len(shape) == 3 else "unit"
        raise UnitError(f"{stage} has shape {list(shape)}: write {stage}:{where}, numbers from 1.")
    index = []
    for part, size in zip(parts[1:], shape):
        if not part.isdigit() or not 1 <= int(part) <= size:
            raise UnitError(f"{stage} has shape {list(shape)}: {part!r} is not a number from 1 to {size}.")
        index.append(int(part) - 1)
    return UnitRef(stage, tuple(index))


@dataclass(frozen=True, eq=False)
class ActivationUnit:
    """A ReLU (or another element-wise activation): one value in, one out."""

    ref: UnitRef
    function: str  # "ReLU", ...
    before: float
    total: float  # the function applied here
    output: float  # what the network produced


@dataclass(frozen=True, eq=False)
class PoolUnit:
    """One output of a pooling layer and the window it read."""

    ref: UnitRef
    function: str  # "max" or "mean"
    window: torch.Tensor  # [k, k] of the previous stage's map (padding cells are −inf for max, 0 for mean)
    rows: tuple[int, ...]  # 0-based rows of the previous map the window covers (may be outside: padding)
    cols: tuple[int, ...]
    total: float
    output: float

    @property
    def winner(self) -> tuple[int, int]:
        """Row and column, inside the window, of the value max pooling keeps."""
        flat = int(torch.argmax(self.window))
        return divmod(flat, self.window.shape[1])


@dataclass(frozen=True, eq=False)
class FlattenUnit:
    """One entry of the flattened vector and where it came from."""

    ref: UnitRef
    source: tuple[int, ...]  # 0-based (map, row, column) of the previous stage, or (i,)
    total: float
    output: float


@dataclass(frozen=True, eq=False)
class LinearUnit:
    """``y_k = b_k + Σ_i W[k, i] · x_i``; ``terms`` are every ``W[k, i] · x_i``."""

    ref: UnitRef
    inputs: torch.Tensor  # [n] the previous stage, flattened
    weights: torch.Tensor  # [n] row k of the weight matrix
    terms: torch.Tensor  # [n] weights · inputs
    bias: float
    total: float
    output: float

    def top(self, n: int = TOP_TERMS) -> list[int]:
        """The indices of the ``n`` terms largest in size, largest first."""
        return [int(i) for i in torch.argsort(self.terms.abs(), descending=True)[:n]]


@dataclass(frozen=True, eq=False)
class SoftmaxUnit:
    """``p_k = exp(z_k − m) / Σ_j exp(z_j − m)``, ``m = max z`` (the same value, without overflow)."""

    ref: UnitRef
    logits: torch.Tensor  # [classes]
    exps: torch.Tensor  # exp(z − m)
    shift: float  # m
    total: float
    output: float


@dataclass(frozen=True, eq=False)
class InputUnit:
    """One pixel of the normalised input: ``(pixel / 255 − mean) / std``."""

    ref: UnitRef
    total: float
    output: float


Explanation = ConvPixel | ActivationUnit | PoolUnit | FlattenUnit | LinearUnit | SoftmaxUnit | InputUnit


def explain(model: nn.Module, result: Trace, ref: UnitRef) -> Explanation:
    """How unit ``ref`` of ``result`` was computed, from the layer's weights and the previous stage; changes nothing."""
    names = result.names
    position = names.index(ref.stage)
    stage = result.stages[position]
    out = stage.output[0]
    output = float(out[ref.index])
    if stage.kind == "input":
        return InputUnit(ref, output, output)
    x = result.stages[position - 1].output[0]
    if stage.kind == "softmax":
        logits = x.double()
        shift = float(logits.max())
        exps = torch.exp(logits - shift)
        return SoftmaxUnit(ref, logits, exps, shift, float(exps[ref.index[0]] / exps.sum()), output)
    module = dict(model.named_children())[ref.stage]
    if isinstance(module, nn.Conv2d):
        return conv_pixel(model, result, ref.stage, *ref.index)
    if stage.kind == "relu":
        before = float(x[ref.index])
        after = float(module(torch.tensor(before)))
        return ActivationUnit(ref, type(module).__name__, before, after, output)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return _pool_unit(module, x, ref, output)
    if stage.kind == "flatten":
        source = tuple(int(i) for i in torch.unravel_index(torch.tensor(ref.index[0]), tuple(x.shape)))
        return FlattenUnit(ref, source, float(x[source]), output)
    if isinstance(module, nn.Linear):
        inputs = x.reshape(-1).double()
        weights = module.weight[ref.index[0]].detach().to("cpu", torch.float64)
        terms = weights * inputs
        bias = float(module.bias[ref.index[0]].detach()) if module.bias is not None else 0.0
        return LinearUnit(ref, inputs, weights, terms, bias, float(terms.sum()) + bias, output)
    raise UnitError(f"{ref.stage} is a {type(module).__name__}: the overview cannot explain its units.")


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pool_unit(module: nn.MaxPool2d | nn.AvgPool2d, x: torch.Tensor, ref: UnitRef, output: float) -> PoolUnit:
    channel, row, col = ref.index
    (kh, kw), (sh, sw) = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
    ph, pw = _pair(module.padding)
    is_max = isinstance(module, nn.MaxPool2d)
    rows = tuple(row * sh - ph + u for u in range(kh))
    cols = tuple(col * sw - pw + v for v in range(kw))
    fill = -math.inf if is_max else 0.0
    h, w = x.shape[1:]
    window = torch.tensor([[float(x[channel, r, c]) if 0 <= r < h and 0 <= c < w else fill for c in cols] for r in rows])
    total = float(window.max()) if is_max else float(window.mean())
    return PoolUnit(ref, "max" if is_max else "mean", window, rows, cols, total, output)


def explanation_dict(e: Explanation, digits: int = 4) -> dict[str, Any]:
    """One unit's computation as JSON (the CLI's ``--unit``): the recomputed total and the network's value."""
    def r(v: float) -> float:
        return round(float(v), digits)

    def grid(t: torch.Tensor) -> list:
        return (torch.round(t.double() * 10**digits) / 10**digits).tolist()

    if isinstance(e, ConvPixel):
        ref = UnitRef(e.stage, (e.channel, e.row, e.col))
        body: dict[str, Any] = {"kind": "conv", "patches": grid(e.patches), "kernels": grid(e.kernels),
                                "channel_sums": [r(v) for v in e.partial.tolist()], "bias": r(e.bias)}
    elif isinstance(e, ActivationUnit):
        ref, body = e.ref, {"kind": "activation", "function": e.function, "before": r(e.before)}
    elif isinstance(e, PoolUnit):
        ref = e.ref
        body = {"kind": "pool", "function": e.function, "window": grid(e.window.nan_to_num(neginf=-1e9)),
                "rows": [i + 1 for i in e.rows], "cols": [i + 1 for i in e.cols]}
    elif isinstance(e, FlattenUnit):
        ref, body = e.ref, {"kind": "flatten", "source": [i + 1 for i in e.source]}
    elif isinstance(e, LinearUnit):
        ref = e.ref
        body = {"kind": "linear", "bias": r(e.bias), "inputs": e.inputs.numel(),
                "top_terms": [{"input": i + 1, "weight": r(e.weights[i]), "x": r(e.inputs[i]), "product": r(e.terms[i])}
                              for i in e.top()],
                "rest": r(float(e.terms.sum()) - sum(float(e.terms[i]) for i in e.top()))}
    elif isinstance(e, SoftmaxUnit):
        ref = e.ref
        body = {"kind": "softmax", "logits": [r(v) for v in e.logits.tolist()], "shift": r(e.shift),
                "exps": [r(v) for v in e.exps.tolist()], "sum": r(float(e.exps.sum()))}
    else:
        ref, body = e.ref, {"kind": "input"}
    return {"unit": ref.text, **body, "total": r(e.total), "network": r(e.output)}
