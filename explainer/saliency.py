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
  of ``conv1`` or ``conv2`` (after its ReLU), upsampled to 28×28 (the layer's own map is kept);
- **occlusion** — how much the score drops when a ``window``×``window`` black patch covers
  the pixel, the patch moved by ``stride``; all positions go through the model in batches;
- **deeplift** — the difference from the baseline, propagated layer by layer with the
  rescale rule (Shrikumar et al. 2017); like IG its attributions add up to the difference.

The model is never changed: each call works on a private copy, made while holding ``lock``
(the lock that guards the shared model), so hooks, modes and weights of the shared model
stay as they are and two students computing at the same time do not meet.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .i18n import LocalizedError, Msg
from .model import seeded

# Captum announces every hook it sets and removes again; the work below happens on a
# private copy anyway.
warnings.filterwarnings("ignore", message=r"Setting backward hooks on ReLU activations", module=r"captum")
warnings.filterwarnings("ignore", message=r"Setting forward, backward hooks and attributes on non-linear")

MNIST_NORMALIZATION = (0.1307, 0.3081)
BLUR_SIGMA = 4.0  # pixels: the blurred baseline keeps the digit's place but none of its strokes


@dataclass(frozen=True)
class MethodInfo:
    key: str
    signed: bool  # signed maps (evidence for / against) or absolute ones (how much)
    paper: str  # short citation, the same in every language
    url: str
    settings: tuple[str, ...]  # the settings that change this method's map
    needs_conv: bool = False


METHODS: dict[str, MethodInfo] = {m.key: m for m in (
    MethodInfo("saliency", False, "Simonyan et al. 2014", "https://arxiv.org/abs/1312.6034", ()),
    MethodInfo("input-x-gradient", True, "Shrikumar et al. 2016", "https://arxiv.org/abs/1605.01713", ()),
    MethodInfo("integrated-gradients", True, "Sundararajan et al. 2017", "https://arxiv.org/abs/1703.01365",
               ("baseline", "steps", "seed")),
    MethodInfo("smoothgrad", False, "Smilkov et al. 2017", "https://arxiv.org/abs/1706.03825",
               ("smooth_over", "samples", "noise", "seed")),
    MethodInfo("guided-backprop", True, "Springenberg et al. 2015", "https://arxiv.org/abs/1412.6806", ()),
    MethodInfo("grad-cam", False, "Selvaraju et al. 2017", "https://arxiv.org/abs/1610.02391", ("layer",), needs_conv=True),
    MethodInfo("occlusion", True, "Zeiler & Fergus 2014", "https://arxiv.org/abs/1311.2901", ("window", "stride")),
    MethodInfo("deeplift", True, "Shrikumar et al. 2017", "https://arxiv.org/abs/1704.02685", ("baseline", "seed")),
)}
BASELINES = ("black", "blurred", "noise")
SMOOTH_OVER = ("saliency", "integrated-gradients")
MAX_STEPS, MAX_SAMPLES, MAX_SMOOTH_IG = 500, 200, 5000  # bounds on the work one request may ask for
OCCLUSION_BATCH = 64  # occluded copies per forward pass


@dataclass(frozen=True)
class Settings:
    """What the methods can be told; each method reads only its own (:attr:`MethodInfo.settings`)."""

    baseline: str = "black"  # integrated gradients, deeplift: black | blurred | noise
    steps: int = 50  # integrated gradients: terms of the Riemann sum
    smooth_over: str = "saliency"  # smoothgrad: saliency | integrated-gradients
    samples: int = 20  # smoothgrad: noisy copies
    noise: float = 38.0  # smoothgrad: σ of the noise in pixel units (0–255); 38 ≈ 15 % of the range
    layer: str = "conv2"  # grad-cam: conv1 | conv2
    window: int = 4  # occlusion: side of the black patch
    stride: int = 2  # occlusion: how far the patch moves
    seed: int = 0  # noise baseline, smoothgrad's noise

    def __post_init__(self) -> None:
        _choice("baseline", self.baseline, BASELINES)
        _choice("smooth_over", self.smooth_over, SMOOTH_OVER)
        object.__setattr__(self, "steps", _whole("steps", self.steps, 1, MAX_STEPS))
        object.__setattr__(self, "samples", _whole("samples", self.samples, 1, MAX_SAMPLES))
        object.__setattr__(self, "window", _whole("window", self.window, 1, 28))
        object.__setattr__(self, "stride", _whole("stride", self.stride, 1, 28))
        object.__setattr__(self, "seed", _whole("seed", self.seed, 0, 2**31 - 1))
        _choice("layer", self.layer, ("conv1", "conv2"))
        if isinstance(self.noise, bool) or not isinstance(self.noise, (int, float)):
            raise LocalizedError("err.not_number", name=Msg("sal.setting.noise"), value=str(self.noise)[:30])
        if not math.isfinite(self.noise) or not 0 <= self.noise <= 255:
            raise LocalizedError("err.sal_noise", value=f"{self.noise:g}")
        object.__setattr__(self, "noise", float(self.noise))
        if self.stride > self.window:
            raise LocalizedError("err.sal_stride", stride=self.stride, window=self.window)
        if self.smooth_over == "integrated-gradients" and self.samples * self.steps > MAX_SMOOTH_IG:
            raise LocalizedError("err.sal_work", samples=self.samples, steps=self.steps, limit=MAX_SMOOTH_IG)

    @classmethod
    def for_method(cls, method: str, **settings: object) -> Settings:
        """The settings of ``method`` taken from ``settings`` (the others keep their defaults), checked.

        A method ignores the settings of the others: a stride larger than the window is an
        error for occlusion, not for saliency.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"Unknown settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        names = _relevant(method, settings.get("smooth_over", cls.smooth_over), settings.get("baseline", cls.baseline))
        return cls(**{n: settings[n] for n in names if n in settings})  # type: ignore[arg-type]

    def relevant(self, method: str) -> tuple[tuple[str, object], ...]:
        """The settings that change ``method``'s map, as ``(name, value)`` pairs: part of every cache key."""
        return tuple((n, getattr(self, n)) for n in _relevant(method, self.smooth_over, self.baseline))


def _relevant(method: str, smooth_over: object, baseline: object) -> tuple[str, ...]:
    names = method_info(method).settings
    if method == "smoothgrad" and smooth_over == "integrated-gradients":
        names += ("steps", "baseline")
    if method != "smoothgrad" and baseline != "noise":  # the seed only matters for noise
        names = tuple(n for n in names if n != "seed")
    return names


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise LocalizedError("err.unknown_choice", value=str(value)[:30], choices=", ".join(choices))


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(value, float) and not value.is_integer():
        raise LocalizedError("err.not_whole", name=Msg(f"sal.setting.{name}"), value=str(value)[:30])
    if not low <= value <= high:
        raise LocalizedError("err.out_of_range", name=Msg(f"sal.setting.{name}"), low=low, high=high, value=f"{value:g}")
    return int(value)


def method_info(method: str) -> MethodInfo:
    try:
        return METHODS[method]
    except KeyError:
        raise LocalizedError("err.unknown_choice", value=str(method)[:30], choices=", ".join(METHODS)) from None


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


# Private copies that finished their work, kept for the next call on the same model: copying
# costs ~5 ms, as much as a whole saliency map. A copy is handed to one call at a time and
# only while the model's tensors are the ones it was copied from, unchanged (same storage,
# same in-place version counters) — a model trained or edited in place gets fresh copies.
_SPARE_COPIES: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, list[nn.Module]]] = weakref.WeakKeyDictionary()
_SPARE_LOCK = threading.Lock()
MAX_SPARE_COPIES = 4  # per model: about the number of students computing at the very same moment


def _stamp(model: nn.Module) -> tuple:
    return tuple((t.data_ptr(), t._version) for t in (*model.parameters(), *model.buffers()))


@contextlib.contextmanager
def borrowed_copy(model: nn.Module, lock: threading.Lock | None = None) -> Iterator[nn.Module]:
    """A :func:`private_copy` of ``model`` for the ``with`` block: a spare one when there is one, else a new one.

    On the way back the copy is cleaned (hooks removed, evaluation mode, weights frozen) and
    kept for the next call, unless its own weights were changed in the meantime.
    """
    stamp = _stamp(model)
    twin = None
    with _SPARE_LOCK:
        entry = _SPARE_COPIES.get(model)
        if entry is not None and entry[0] == stamp and entry[1]:
            twin = entry[1].pop()
    if twin is None:
        twin = private_copy(model, lock)
    own = _stamp(twin)
    yield twin
    _clear_hooks(twin)
    twin.eval().requires_grad_(False)
    if _stamp(twin) != own:
        return  # something wrote into the copy's weights: never hand it out again
    with _SPARE_LOCK:
        entry = _SPARE_COPIES.get(model)
        if entry is None or entry[0] != stamp:
            _SPARE_COPIES[model] = (stamp, [twin])
        elif len(entry[1]) < MAX_SPARE_COPIES:
            entry[1].append(twin)


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


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's convolution stages (``conv1``, ``conv2``); empty for the MLP and softmax regression."""
    return [name for name, module in model.named_children() if isinstance(module, nn.Conv2d)]


def pixel_value(pixel: float, normalization: tuple[float, float]) -> float:
    """A pixel value 0–255 in the model's units: ``(pixel / 255 − mean) / std``."""
    mean, std = normalization
    return (pixel / 255.0 - mean) / std


def baseline_image(x: torch.Tensor, kind: str, normalization: tuple[float, float], seed: int = 0) -> torch.Tensor:
    """The reference picture ``x₀`` in the model's units: all black, ``x`` blurred, or uniform noise 0–255."""
    _choice("baseline", kind, BASELINES)
    if kind == "black":
        return torch.full_like(x, pixel_value(0.0, normalization))
    if kind == "blurred":
        return gaussian_blur(x, BLUR_SIGMA)
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.rand(x.shape, generator=generator) * 255.0
    mean, std = normalization
    return ((pixels / 255.0 - mean) / std).to(x.device, x.dtype)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``[N, C, H, W]`` with reflected borders.

    Blur and the normalisation commute (both are affine and the kernel sums to 1), so
    blurring in the model's units equals blurring the pixels.
    """
    radius = min(int(math.ceil(3 * sigma)), x.shape[-1] - 1, x.shape[-2] - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    out = F.pad(x, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def attribute(model: nn.Module, x: torch.Tensor, method: str, target: int, *, lock: threading.Lock | None = None,
              normalization: tuple[float, float] = MNIST_NORMALIZATION, **settings: object) -> Attribution:
    """The attribution map of ``method`` for class ``target`` of one normalised image ``x``.

    ``settings`` are the fields of :class:`Settings` (``steps=50``, ``baseline="blurred"``,
    ``window=4`` ...); a method ignores the ones that are not its own. Invalid settings, an
    unknown method, a target that is not a class, or Grad-CAM on a model without convolution
    layers raise :class:`~explainer.i18n.LocalizedError` before any work is done.
    """
    info = method_info(method)
    options = Settings.for_method(method, **settings)
    x = as_batch(x)
    target = check_target(model, target)
    if info.needs_conv:
        layers = conv_layers(model)
        if not layers:
            raise LocalizedError("err.sal_no_conv", method="Grad-CAM")
        if options.layer not in layers:
            raise LocalizedError("err.unknown_choice", value=str(options.layer)[:30], choices=", ".join(layers))
    import captum.attr  # noqa: F401 - imported once (~1 s), before the clock starts

    started = time.perf_counter()
    with borrowed_copy(model, lock) as twin:
        device = next(twin.parameters()).device
        x = x.to(device).requires_grad_(True)
        with torch.enable_grad():
            result = _RUNNERS[method](twin, x, target, options, normalization)
    attributions, extra = result if isinstance(result, tuple) else (result, {})
    attributions = attributions.detach().to("cpu", torch.float32).sum(dim=(0, 1))
    signed = is_signed(method, options)
    if not signed:
        attributions = attributions.clamp(min=0) if method == "grad-cam" else attributions.abs()
    return Attribution(method, target, attributions, signed, time.perf_counter() - started, options.relevant(method), **extra)


def is_signed(method: str, settings: Settings | None = None) -> bool:
    """Whether ``method`` gives signed maps; SmoothGrad is signed when it averages Integrated Gradients."""
    if method == "smoothgrad" and settings is not None and settings.smooth_over == "integrated-gradients":
        return True
    return method_info(method).signed


def _saliency(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]) -> torch.Tensor:
    from captum.attr import Saliency

    return Saliency(model).attribute(x, target=target, abs=True)


def _input_x_gradient(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]) -> torch.Tensor:
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(x, target=target)


def _completeness(model: nn.Module, x: torch.Tensor, x0: torch.Tensor, target: int, delta: torch.Tensor) -> dict:
    with torch.no_grad():
        scores = model(torch.cat([x.detach(), x0]))[:, target]
    return {"convergence_delta": float(delta.abs().max()), "score_change": float(scores[0] - scores[1])}


def _integrated_gradients(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]):  # noqa: ANN202
    from captum.attr import IntegratedGradients

    x0 = baseline_image(x.detach(), s.baseline, norm, s.seed)
    maps, delta = IntegratedGradients(model).attribute(x, baselines=x0, target=target, n_steps=s.steps,
                                                       return_convergence_delta=True)
    return maps, _completeness(model, x, x0, target, delta)


def _smoothgrad(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]) -> torch.Tensor:
    from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

    stdev = s.noise / 255.0 / norm[1]  # pixel units → the model's units
    with seeded(s.seed):  # the noise comes from PyTorch's global generator
        if s.smooth_over == "saliency":
            return NoiseTunnel(Saliency(model)).attribute(x, target=target, nt_type="smoothgrad", nt_samples=s.samples,
                                                          stdevs=stdev, abs=True)
        x0 = baseline_image(x.detach(), s.baseline, norm, s.seed)
        maps = NoiseTunnel(IntegratedGradients(model)).attribute(
            x, target=target, nt_type="smoothgrad", nt_samples=s.samples, stdevs=stdev, baselines=x0, n_steps=s.steps,
            nt_samples_batch_size=max(1, 1000 // s.steps))
        return maps


def _guided_backprop(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]) -> torch.Tensor:
    from captum.attr import GuidedBackprop

    return GuidedBackprop(model).attribute(x, target=target)


def _grad_cam(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]):  # noqa: ANN202
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(model, feature_maps(model, s.layer)).attribute(x, target=target, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return upsampled, {"coarse": cam.detach().to("cpu", torch.float32)[0, 0].clamp(min=0)}


def feature_maps(model: nn.Module, layer: str) -> nn.Module:
    """The module whose output Grad-CAM reads for conv ``layer``: the ReLU right after it.

    Grad-CAM weighs a layer's feature maps ``A_c`` — in the paper the rectified outputs of a
    convolution. Before its ReLU, ``conv2``'s output is mostly negative background and the
    weighted sum comes out negative everywhere (an empty map).
    """
    children = list(model.named_children())
    names = [name for name, _ in children]
    index = names.index(layer)
    if index + 1 < len(children) and isinstance(children[index + 1][1], nn.ReLU):
        return children[index + 1][1]
    return children[index][1]


_OCCLUSION_MASKS: dict[tuple, torch.Tensor] = {}
MAX_OCCLUSION_MASKS = 2048  # 28×28 masks: a few MB at most


@functools.cache
def _occlusion_class():  # noqa: ANN202 - a Captum class, imported lazily
    """Captum's Occlusion, with the mask of each window position made once per process.

    Captum pads a fresh window of ones into a mask for every position of every call — 169
    small ``F.pad`` calls for a 4×4 window with stride 2, about half of the map's time. The
    mask depends only on the position, the window, the strides and the picture's shape (the
    window is always Captum's own tensor of ones), so it is kept — read only: Captum stacks
    the masks, never writes to them. The class is made once, on first use.
    """
    from captum.attr import Occlusion

    class CachedMaskOcclusion(Occlusion):
        def _occlusion_mask(self, input, ablated_feature_num, sliding_window_tsr, strides, shift_counts,  # noqa: ANN001, ANN202
                            is_expanded_input):
            key = (tuple(input.shape[2 if is_expanded_input else 1:]), ablated_feature_num, tuple(sliding_window_tsr.shape),
                   strides, shift_counts, is_expanded_input, sliding_window_tsr.dtype, str(sliding_window_tsr.device))
            mask = _OCCLUSION_MASKS.get(key)
            if mask is None:
                mask = super()._occlusion_mask(input, ablated_feature_num, sliding_window_tsr, strides, shift_counts,
                                               is_expanded_input)
                if len(_OCCLUSION_MASKS) >= MAX_OCCLUSION_MASKS:
                    _OCCLUSION_MASKS.clear()
                _OCCLUSION_MASKS[key] = mask
            return mask

    return CachedMaskOcclusion


def _occlusion(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]) -> torch.Tensor:
    return _occlusion_class()(model).attribute(x.detach(), target=target, sliding_window_shapes=(1, s.window, s.window),
                                               strides=(1, s.stride, s.stride), baselines=pixel_value(0.0, norm),
                                               perturbations_per_eval=OCCLUSION_BATCH)


def _deeplift(model: nn.Module, x: torch.Tensor, target: int, s: Settings, norm: tuple[float, float]):  # noqa: ANN202
    from captum.attr import DeepLift

    x0 = baseline_image(x.detach(), s.baseline, norm, s.seed)
    maps, delta = DeepLift(model).attribute(x, baselines=x0, target=target, return_convergence_delta=True)
    return maps, _completeness(model, x, x0, target, delta)


_RUNNERS = {
    "saliency": _saliency, "input-x-gradient": _input_x_gradient, "integrated-gradients": _integrated_gradients,
    "smoothgrad": _smoothgrad, "guided-backprop": _guided_backprop, "grad-cam": _grad_cam, "occlusion": _occlusion,
    "deeplift": _deeplift,
}


def class_probabilities(model: nn.Module, x: torch.Tensor, lock: threading.Lock | None = None) -> torch.Tensor:
    """softmax(model(x)) for one image, ``[classes]`` on the CPU (a plain forward pass, under ``lock``)."""
    x = as_batch(x)
    with lock if lock is not None else contextlib.nullcontext(), torch.no_grad():
        logits = model(x.to(next(model.parameters()).device))
    return torch.softmax(logits.detach().to("cpu", torch.float32)[0], dim=0)
