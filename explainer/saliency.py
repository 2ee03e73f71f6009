"""Where did the model look? Eight attribution methods of Captum behind one verb.

    >>> a = attribute(model, x, "integrated-gradients", target=7, steps=50)
    >>> a.map.shape, a.signed, a.convergence_delta      # a 28×28 map, one number per pixel
    (torch.Size([28, 28]), True, 0.0012)

Every method answers "how much did each pixel contribute to the score ``s_k(x)`` of class
``k``?" (``s`` is the logit: softmax would squash the differences):

- **saliency** ``|∂s_k/∂x|`` — how sensitive the score is to each pixel (Simonyan et al. 2014);
- **input-x-gradient** ``x ⊙ ∂s_k/∂x`` — for a linear model exactly each pixel's term of ``w·x``;
- **integrated-gradients** ``(x − x₀) ⊙ ∫₀¹ ∂s_k/∂x(x₀ + α(x − x₀)) dα`` from a baseline
  ``x₀`` (black, the input blurred, or noise), a Riemann sum of ``steps`` terms; the
  attributions add up to ``s_k(x) − s_k(x₀)`` and the convergence delta is what is missing;
- **smoothgrad** — the average map over ``samples`` copies of the input with Gaussian noise
  of ``noise`` (in the picture's own pixel units, 0–255) added: NoiseTunnel over Saliency or
  Integrated Gradients (Smilkov et al. 2017);
- **guided-backprop** — the gradient with every ReLU letting only positive gradients back;
- **grad-cam** — ``ReLU(Σ_c α_c A_c)`` with ``α_c`` the mean gradient of feature map ``A_c``
  of a convolution layer (``conv1`` … ``conv3``, after its activation), upsampled to 28×28 (the
  layer's own map is kept);
- **occlusion** — how much the score drops when a ``window``×``window`` black patch covers
  the pixel, the patch moved by ``stride``; all positions go through the model in batches;
- **deeplift** — the difference from the baseline, propagated layer by layer with the
  rescale rule (Shrikumar et al. 2017); like IG its attributions add up to the difference.

Each method is one object of the registry :data:`~explainer.methods.METHODS` (its settings
are declared in :data:`~explainer.attribution_settings.SETTINGS`); this module is the verb
that runs one, and the names callers know are re-exported from here.

The model is never changed: each call works on a private copy, made while holding ``lock``
(the lock that guards the shared model), so hooks, modes and weights of the shared model
stay as they are and two students computing at the same time do not meet.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

import torch
from torch import nn

from .attribution_settings import (  # noqa: F401 - re-exported: the names callers know
    BASELINES,
    CHOICE,
    MAX_SAMPLES,
    MAX_STEPS,
    NUMBER,
    SETTING,
    SETTINGS,
    SMOOTH_OVER,
    WHOLE,
    Setting,
    Settings,
)
from .baselines import BLUR_KERNEL, BLUR_SIGMA, MNIST_NORMALIZATION, baseline_image, gaussian_blur, pixel_value  # noqa: F401
from .i18n import LocalizedError
from .methods import (  # noqa: F401 - re-exported
    MAX_SMOOTH_IG,
    METHODS,
    OCCLUSION_BATCH,
    Method,
    feature_maps,
    method_info,
    register,
    registered,
    settings_used,
)
from .model import conv_layers  # noqa: F401 - re-exported

# Captum announces every hook it sets and removes again; the work below happens on a
# private copy anyway.
warnings.filterwarnings("ignore", message=r"Setting backward hooks on ReLU activations", module=r"captum")
warnings.filterwarnings("ignore", message=r"Setting forward, backward hooks and attributes on non-linear")

MethodInfo = Method  # the former name of a registry entry


@dataclass(frozen=True, eq=False)
class Attribution:
    """One method's answer for one image and one class."""

    method: str
    target: int
    map: torch.Tensor  # [H, W] float32 on the CPU, one number per pixel
    signed: bool  # True: + for the class, − against it; False: ≥ 0, how much
    seconds: float
    settings: tuple[tuple[str, object], ...]
    convergence_delta: float | None = None  # IG, DeepLift: Σ map − (s(x) − s(x₀))
    score_change: float | None = None  # IG, DeepLift: s(x) − s(x₀), what the map should add up to
    coarse: torch.Tensor | None = None  # Grad-CAM: the layer's own map [h, w] before upsampling

    @property
    def kind(self) -> str:
        return "signed" if self.signed else "absolute"


def as_batch(x: torch.Tensor) -> torch.Tensor:
    """One image as ``[1, C, H, W]`` float32 (``[H, W]`` and ``[C, H, W]`` are accepted); finite values only."""
    if not isinstance(x, torch.Tensor):
        raise LocalizedError("err.sal_input", shape="—")
    if x.dim() == 2:
        x = x[None, None]
    elif x.dim() == 3:
        x = x[None]
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 1 or x.shape[2] < 4 or x.shape[3] < 4:
        raise LocalizedError("err.sal_input", shape="[" + ", ".join(str(n) for n in x.shape) + "]")
    x = x.detach().to(torch.float32)
    if not torch.isfinite(x).all():
        raise LocalizedError("err.sal_not_finite")
    return x


def private_copy(model: nn.Module, lock: threading.Lock | None = None) -> nn.Module:
    """A copy of ``model`` to compute on: evaluation mode, weights frozen, no hooks.

    Copied while holding ``lock``: a forward trace on another thread holds it while its
    hooks are on the model, so the copy never catches them. Gradients are needed for the
    input only, so the copy's weights do not ask for any (faster, and nothing accumulates).
    """
    with lock if lock is not None else contextlib.nullcontext():
        twin = copy.deepcopy(model)
    _clear_hooks(twin)
    return twin.eval().requires_grad_(False)


def _clear_hooks(model: nn.Module) -> None:
    for module in model.modules():
        for hooks in (module._forward_hooks, module._forward_pre_hooks, module._backward_hooks, module._backward_pre_hooks):
            hooks.clear()


# Private copies that finished their work, kept for the next call on the same model: a copy
# costs 0.4 ms, as much as a whole saliency map (benchmarks/saliency_speed.py). A copy is
# handed to one call at a time, and only while it holds exactly the model's tensors (checked
# with torch.equal, ~0.05 ms): a model trained or edited in place, or a copy whose own
# weights were written, gets a fresh copy.
_SPARE_COPIES: weakref.WeakKeyDictionary[nn.Module, list[nn.Module]] = weakref.WeakKeyDictionary()
_SPARE_LOCK = threading.Lock()
MAX_SPARE_COPIES = 4  # per model: about the number of students computing at the very same moment


def same_weights(model: nn.Module, twin: nn.Module) -> bool:
    """Whether ``twin`` holds exactly ``model``'s parameters and buffers: names, shapes, dtypes, devices, values."""
    mine = list(chain(model.named_parameters(), model.named_buffers()))
    theirs = list(chain(twin.named_parameters(), twin.named_buffers()))
    return len(mine) == len(theirs) and all(
        a == b and x.shape == y.shape and x.dtype == y.dtype and x.device == y.device and torch.equal(x, y)
        for (a, x), (b, y) in zip(mine, theirs))


@contextlib.contextmanager
def borrowed_copy(model: nn.Module, lock: threading.Lock | None = None) -> Iterator[nn.Module]:
    """A :func:`private_copy` of ``model`` for the ``with`` block: a spare one when there is one, else a new one.

    A spare copy is checked against the model (while holding ``lock``) before it is handed
    out. On the way back the copy is cleaned (hooks removed, evaluation mode, weights
    frozen) and kept for the next call.
    """
    twin = None
    while twin is None:
        with _SPARE_LOCK:
            spares = _SPARE_COPIES.get(model)
            spare = spares.pop() if spares else None
        if spare is None:
            break
        with lock if lock is not None else contextlib.nullcontext():
            twin = spare if same_weights(model, spare) else None  # a stale copy is dropped
    if twin is None:
        twin = private_copy(model, lock)
    yield twin
    _clear_hooks(twin)
    twin.eval().requires_grad_(False)
    with _SPARE_LOCK:
        spares = _SPARE_COPIES.setdefault(model, [])
        if len(spares) < MAX_SPARE_COPIES:
            spares.append(twin)


def num_classes(model: nn.Module) -> int:
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "num_classes"):
        return int(config.num_classes)
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise TypeError("Cannot tell how many classes this model has.")
    return last[-1].out_features


def check_target(model: nn.Module, target: object) -> int:
    classes = num_classes(model)
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < classes:
        raise LocalizedError("err.sal_target", value=str(target)[:30], last=classes - 1)
    return int(target)


def attribute(model: nn.Module, x: torch.Tensor, method: str, target: int, *, lock: threading.Lock | None = None,
              normalization: tuple[float, float] = MNIST_NORMALIZATION, **settings: object) -> Attribution:
    """The attribution map of ``method`` for class ``target`` of one normalised image ``x``.

    ``settings`` are named as in :data:`SETTINGS` (``steps=50``, ``baseline="blurred"``,
    ``window=4`` ...); a method ignores the ones that are not its own. Invalid settings, an
    unknown method, a target that is not a class, or Grad-CAM on a model without convolution
    layers raise :class:`~explainer.i18n.LocalizedError` before any work is done.
    """
    info = method_info(method)
    options = Settings.for_method(method, **settings)
    x = as_batch(x)
    target = check_target(model, target)
    info.check_model(model, options)
    import captum.attr  # noqa: F401 - imported once (~1 s), before the clock starts

    started = time.perf_counter()
    with borrowed_copy(model, lock) as twin:
        device = next(twin.parameters()).device
        x = x.to(device).requires_grad_(True)
        with torch.enable_grad():
            result = info.compute(twin, x, target, options, normalization)
    attributions, extra = result if isinstance(result, tuple) else (result, {})
    attributions = info.finish(attributions.detach().to("cpu", torch.float32).sum(dim=(0, 1)), options)
    return Attribution(info.key, target, attributions, info.is_signed(options), time.perf_counter() - started,
                       options.relevant(info.key), **extra)


def is_signed(method: str, settings: Settings | None = None) -> bool:
    """Whether ``method`` gives signed maps; SmoothGrad is signed when it averages Integrated Gradients."""
    return method_info(method).is_signed(settings if settings is not None else Settings())


def class_probabilities(model: nn.Module, x: torch.Tensor, lock: threading.Lock | None = None) -> torch.Tensor:
    """softmax(model(x)) for one image, ``[classes]`` on the CPU (a plain forward pass, under ``lock``)."""
    x = as_batch(x)
    with lock if lock is not None else contextlib.nullcontext(), torch.no_grad():
        logits = model(x.to(next(model.parameters()).device))
    return torch.softmax(logits.detach().to("cpu", torch.float32)[0], dim=0)
