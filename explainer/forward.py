"""A real forward pass, stage by stage: what every layer of the model outputs for one image.

:func:`trace` registers a forward hook on each named stage module (``conv1``, ``relu1`` ...),
runs the model once in ``eval()`` mode without gradients, and removes the hooks again —
also when the model raises. The model's mode is restored; its weights are never touched.
Hooks on a *shared* model must not be registered by two threads at once: pass the lock
that guards it.

    >>> t = trace(model, x)                       # x: [1, 1, 28, 28], normalised
    >>> [s.name for s in t.stages][:3]
    ['input', 'conv1', 'relu1']
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from .i18n import Msg
from .model import ModelConfig, model_config


@dataclass(frozen=True, eq=False)
class Stage:
    """One stage's output for one image."""

    name: str  # "input", a module name such as "conv1", or "softmax"
    kind: str  # "input", "conv", "relu", "pool", "flatten", "linear", "logits", "softmax"
    layer: str  # e.g. "Conv2d(1, 8, kernel_size=(3, 3), padding=(1, 1))"; "" for input and softmax
    output: torch.Tensor  # on the CPU, batch dimension kept: [1, C, H, W] or [1, N]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.shape)

    @property
    def min(self) -> float:
        return float(self.output.min())

    @property
    def max(self) -> float:
        return float(self.output.max())


@dataclass(frozen=True, eq=False)
class Trace:
    stages: tuple[Stage, ...]
    logits: torch.Tensor  # [classes]
    probabilities: torch.Tensor  # [classes], softmax of the logits

    @property
    def prediction(self) -> int:
        return int(self.probabilities.argmax())

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]


def _kind(module: nn.Module, is_last: bool) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Sigmoid, nn.Tanh)):
        return "relu"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return "pool"
    if isinstance(module, nn.Flatten):
        return "flatten"
    if isinstance(module, nn.Linear):
        return "logits" if is_last else "linear"
    return "other"


@contextlib.contextmanager
def _hooked(model: nn.Module, outputs: dict[str, torch.Tensor]) -> Iterator[None]:
    """Forward hooks that record each named child's output; removed whatever happens."""
    handles = []
    try:
        for name, module in model.named_children():
            def hook(_module: nn.Module, _inputs: object, output: torch.Tensor, name: str = name) -> None:
                outputs[name] = output.detach().to("cpu", torch.float32).clone()

            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


def trace(model: nn.Module, x: torch.Tensor, lock: threading.Lock | None = None) -> Trace:
    """Every stage's output for one normalised image ``x`` ``[1, C, H, W]`` (or ``[C, H, W]``).

    The stages come in the order the data flows (the order of the model's named children,
    which is the order ``forward`` uses), framed by ``input`` and ``softmax``.
    """
    model_config(model)  # one of the app's models
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError("trace() takes one image: a tensor of shape [1, C, H, W].")
    device = next(model.parameters()).device
    outputs: dict[str, torch.Tensor] = {}
    with lock if lock is not None else contextlib.nullcontext():
        was_training = model.training
        try:
            model.eval()
            with _hooked(model, outputs), torch.no_grad():
                logits = model(x.to(device, torch.float32))
        finally:
            model.train(was_training)
    children = list(model.named_children())
    stages = [Stage("input", "input", "", x.detach().to("cpu", torch.float32).clone())]
    for i, (name, module) in enumerate(children):
        if name in outputs:
            stages.append(Stage(name, _kind(module, i == len(children) - 1), _describe(module), outputs[name]))
    logits = logits.detach().to("cpu", torch.float32)[0]
    probabilities = torch.softmax(logits, dim=0)
    stages.append(Stage("softmax", "softmax", "", probabilities[None].clone()))
    return Trace(tuple(stages), logits, probabilities)


def stage_names(model: nn.Module) -> list[str]:
    """The names of the stages :func:`trace` returns for ``model``, before any digit is traced."""
    return ["input"] + [name for name, _ in model.named_children()] + ["softmax"]


def _describe(module: nn.Module) -> str:
    return f"{type(module).__name__}({module.extra_repr()})"


def stage_code(stage: Stage, normalization: tuple[float, float] | None = None) -> str:
    """The line of PyTorch that produced this stage."""
    if stage.kind == "input":
        mean, std = normalization or (0.1307, 0.3081)
        return f"x = (image / 255 - {mean:g}) / {std:g}   # [1, 1, 28, 28]"
    if stage.kind == "softmax":
        return "p = torch.softmax(logits, dim=1)"
    target = "logits" if stage.kind == "logits" else "x"
    return f"{target} = model.{stage.name}(x)   # nn.{stage.layer}"


def stage_notice(model: nn.Module, result: Trace, name: str, classes: int | None = None) -> Msg:
    """What to notice about stage ``name`` of ``result``, as a text to render in the reader's language.

    The shipped architecture of each kind has the course's own sentences
    (``fwd.notice.<kind>.<stage>``); any other architecture (more blocks, another activation,
    valid padding ...) gets a sentence per kind of stage, filled in with its own numbers.
    """
    config = model_config(model)
    classes = classes if classes is not None else int(result.probabilities.numel())
    index = result.names.index(name)
    stage = result.stages[index]
    if stage.kind in ("input", "softmax") or config == ModelConfig(kind=config.kind):
        return Msg(f"fwd.notice.{config.kind}.{name}", classes=classes)
    before = result.stages[index - 1].shape[1:]
    after = stage.shape[1:]
    module = dict(model.named_children())[name]
    if isinstance(module, nn.Conv2d):
        return Msg("fwd.notice.any.conv", name=name, n=module.out_channels, k=module.kernel_size[0], c=module.in_channels,
                   before=before[-1], after=after[-1])
    if stage.kind == "relu":
        return Msg(f"fwd.notice.any.{type(module).__name__.lower()}", name=name)
    if stage.kind == "pool":
        return Msg("fwd.notice.any.pool", name=name, before=before[-1], after=after[-1], c=after[0])
    if stage.kind == "flatten":
        if len(before) == 3:
            return Msg("fwd.notice.any.flatten_maps", c=before[0], h=before[1], w=before[2], n=after[0])
        return Msg("fwd.notice.any.flatten", n=after[0])
    if stage.kind == "logits":
        return Msg("fwd.notice.any.logits", name=name, inputs=before[-1])
    return Msg("fwd.notice.any.linear", name=name, n=after[0], inputs=before[-1])


@dataclass(frozen=True, eq=False)
class ConvPixel:
    """The arithmetic behind one output pixel of a convolution layer, on the real numbers.

    ``out[m, i, j] = b_m + Σ_c Σ_u Σ_v W[m, c, u, v] · X_pad[c, i·s + u·d, j·s + v·d]``:
    one k×k patch and one k×k kernel per input channel ``c``, summed over the channels.
    """

    stage: str
    channel: int  # the output map m
    row: int
    col: int
    patches: torch.Tensor  # [C_in, k, k] from the layer's (padded) input
    kernels: torch.Tensor  # [C_in, k, k] = weight[m]
    partial: torch.Tensor  # [C_in]: Σ patch · kernel for each input channel
    bias: float
    total: float  # Σ partial + bias, computed here
    output: float  # what the layer produced in the forward pass


def conv_pixel(model: nn.Module, result: Trace, stage: str, channel: int, row: int, col: int) -> ConvPixel:
    """Recompute output pixel (``row``, ``col``) of map ``channel`` of conv ``stage`` by hand.

    Reads the layer's weights and the previous stage's output from the trace; changes nothing.
    """
    module = dict(model.named_children()).get(stage)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"{stage!r} is not a convolution layer of this model.")
    index = result.names.index(stage)
    x = result.stages[index - 1].output[0]
    out = result.stages[index].output[0]
    if not (0 <= channel < out.shape[0] and 0 <= row < out.shape[1] and 0 <= col < out.shape[2]):
        raise ValueError(f"{stage} has {out.shape[0]} maps of {out.shape[1]}×{out.shape[2]}: no pixel ({channel}, {row}, {col}).")
    (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
    ph, pw = module.padding if isinstance(module.padding, tuple) else (0, 0)
    padded = torch.nn.functional.pad(x, (pw, pw, ph, ph))
    rows = [row * sh + u * dh for u in range(kh)]
    cols = [col * sw + v * dw for v in range(kw)]
    patches = padded[:, rows][:, :, cols]
    kernels = module.weight[channel].detach().to("cpu", torch.float32)
    partial = (patches * kernels).sum(dim=(1, 2))
    bias = float(module.bias[channel].detach()) if module.bias is not None else 0.0
    return ConvPixel(stage, channel, row, col, patches, kernels, partial, bias, float(partial.sum()) + bias, float(out[channel, row, col]))
