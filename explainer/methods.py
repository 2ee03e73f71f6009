"""The attribution methods, one object each, in one ordered registry: :data:`METHODS`.

A :class:`Method` knows everything about itself: its key, its paper, whether its map is
signed, which settings it reads (declared once in :data:`explainer.attribution_settings.SETTINGS`),
the checks across them, whether it needs a convolution layer, the Captum call that computes
it, and the Captum code a student would type for it. The CLI's flags, the page's widgets,
the code under the maps and the tests are all derived from the registry, so a new method is
one class here plus its two catalog texts, ``sal.method.<key>`` and ``sal.explain.<key>``::

    class DoubleSaliency(Saliency):
        key = "double-saliency"

        def compute(self, model, x, target, s, normalization):
            return 2 * super().compute(model, x, target, s, normalization)

    register(DoubleSaliency())

Every method answers "how much did each pixel contribute to the score ``s_k(x)`` of class
``k``?" (``s`` is the logit: softmax would squash the differences); see each class for its
formula. Captum's own classes do the work; a method only calls them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import ClassVar

import torch
from torch import nn

from .attribution_settings import SETTING, SETTINGS, Setting, Settings
from .baselines import baseline_image, pixel_value
from .i18n import LocalizedError, Msg
from .model import ACTIVATION_LAYERS, conv_layers, seeded

MAX_SMOOTH_IG = 5000  # SmoothGrad over IG: samples × steps gradients at most, per request
OCCLUSION_BATCH = 64  # occluded copies per forward pass

Computed = torch.Tensor | tuple[torch.Tensor, dict[str, object]]  # the maps, and extra fields of the Attribution
Norm = tuple[float, float]  # the model's (mean, std)


class Method:
    """One attribution method, as Captum has one class per method: subclasses set the class
    attributes and write :meth:`compute` and :meth:`code`; the rest has defaults.

    The registry holds one instance per method; it keeps no state, so every call (and every
    thread) shares it.
    """

    key: ClassVar[str]
    paper: ClassVar[str] = ""  # short citation, the same in every language
    url: ClassVar[str] = ""
    signed: ClassVar[bool] = True  # signed maps (evidence for / against) or absolute ones (how much)
    settings: ClassVar[tuple[str, ...]] = ()  # every setting it may read: its widgets, its CLI flags
    needs_conv: ClassVar[bool] = False
    captum: ClassVar[tuple[str, ...]] = ()  # the names its code imports from captum.attr

    def relevant(self, values: Mapping[str, object]) -> tuple[str, ...]:
        """The settings that change the map, given all the values (part of every cache key)."""
        return self.settings

    def check(self, s: Settings) -> None:
        """Checks across settings; each setting alone was checked by :class:`Settings`."""

    def check_model(self, model: nn.Module, s: Settings) -> None:
        """Refuse a model the method cannot explain, or a setting whose choices the model lacks."""
        if self.needs_conv and not conv_layers(model):
            raise LocalizedError("err.sal_no_conv", method=Msg(f"sal.method.{self.key}"))
        for name in self.relevant(s):
            spec = SETTING[name]
            if spec.model_choices is not None and s[name] not in spec.options(model):
                raise LocalizedError("err.unknown_choice", value=str(s[name])[:30], choices=", ".join(spec.options(model)))

    def is_signed(self, s: Settings) -> bool:
        return self.signed

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        """The Captum call: attributions shaped like ``x`` ``[1, 1, H, W]`` (and extra fields)."""
        raise NotImplementedError

    def finish(self, summed: torch.Tensor, s: Settings) -> torch.Tensor:
        """The ``[H, W]`` map from the attributions summed over channels: absolute maps keep sizes only."""
        return summed if self.is_signed(s) else summed.abs()

    def imports(self, s: Settings) -> tuple[str, ...]:
        return self.captum

    def baselines(self, s: Settings) -> tuple[str, ...]:
        """The baselines its code uses (``x0_<name>``, defined before the calls)."""
        return ()

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        """The Captum lines a student would type for this map, with these settings."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"


def _seed_for_noise_only(names: tuple[str, ...], values: Mapping[str, object]) -> tuple[str, ...]:
    """The seed changes a map only through the noise baseline."""
    return names if values["baseline"] == "noise" else tuple(n for n in names if n != "seed")


def _completeness(model: nn.Module, x: torch.Tensor, x0: torch.Tensor, target: int, delta: torch.Tensor) -> dict:
    with torch.no_grad():
        scores = model(torch.cat([x.detach(), x0]))[:, target]
    return {"convergence_delta": float(delta.abs().max()), "score_change": float(scores[0] - scores[1])}


class Saliency(Method):
    """``|∂s_k/∂x|``: how sensitive the score is to each pixel."""

    key = "saliency"
    paper, url = "Simonyan et al. 2014", "https://arxiv.org/abs/1312.6034"
    signed = False
    captum = ("Saliency",)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import Saliency

        return Saliency(model).attribute(x, target=target, abs=True)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return f"attributions = Saliency(model).attribute(x, target={target}, abs=True)"


class InputXGradient(Method):
    """``x ⊙ ∂s_k/∂x``: for a linear model exactly each pixel's term of ``w·x``."""

    key = "input-x-gradient"
    paper, url = "Shrikumar et al. 2016", "https://arxiv.org/abs/1605.01713"
    captum = ("InputXGradient",)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import InputXGradient

        return InputXGradient(model).attribute(x, target=target)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return f"attributions = InputXGradient(model).attribute(x, target={target})"


class IntegratedGradients(Method):
    """``(x − x₀) ⊙ ∫₀¹ ∂s_k/∂x(x₀ + α(x − x₀)) dα``, a Riemann sum of ``steps`` terms.

    The attributions add up to ``s_k(x) − s_k(x₀)``; the convergence delta is what is missing.
    """

    key = "integrated-gradients"
    paper, url = "Sundararajan et al. 2017", "https://arxiv.org/abs/1703.01365"
    settings = ("baseline", "steps", "seed")
    captum = ("IntegratedGradients",)

    def relevant(self, values: Mapping[str, object]) -> tuple[str, ...]:
        return _seed_for_noise_only(self.settings, values)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import IntegratedGradients

        x0 = baseline_image(x.detach(), s.baseline, normalization, s.seed)
        maps, delta = IntegratedGradients(model).attribute(x, baselines=x0, target=target, n_steps=s.steps,
                                                           return_convergence_delta=True)
        return maps, _completeness(model, x, x0, target, delta)

    def baselines(self, s: Settings) -> tuple[str, ...]:
        return (s.baseline,)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return (f"attributions, delta = IntegratedGradients(model).attribute(\n"
                f"    x, baselines=x0_{s.baseline}, target={target}, n_steps={s.steps}, return_convergence_delta=True)")


class SmoothGrad(Method):
    """The average map over ``samples`` noisy copies (noise σ in pixel units 0–255): NoiseTunnel over Saliency or IG.

    Over Saliency the map is a size (absolute); over Integrated Gradients it keeps its sign.
    """

    key = "smoothgrad"
    paper, url = "Smilkov et al. 2017", "https://arxiv.org/abs/1706.03825"
    signed = False
    own: ClassVar[tuple[str, ...]] = ("smooth_over", "samples", "noise", "seed")
    settings = own + ("steps", "baseline")  # Integrated Gradients' own, read when it averages them

    def _over_ig(self, values: Mapping[str, object]) -> bool:
        return values["smooth_over"] == "integrated-gradients"

    def relevant(self, values: Mapping[str, object]) -> tuple[str, ...]:
        return self.settings if self._over_ig(values) else self.own

    def check(self, s: Settings) -> None:
        if self._over_ig(s) and s.samples * s.steps > MAX_SMOOTH_IG:
            raise LocalizedError("err.sal_work", samples=s.samples, steps=s.steps, limit=MAX_SMOOTH_IG)

    def is_signed(self, s: Settings) -> bool:
        return self._over_ig(s)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

        stdev = s.noise / 255.0 / normalization[1]  # pixel units → the model's units
        with seeded(s.seed):  # the noise comes from PyTorch's global generator
            if not self._over_ig(s):
                return NoiseTunnel(Saliency(model)).attribute(x, target=target, nt_type="smoothgrad", nt_samples=s.samples,
                                                              stdevs=stdev, abs=True)
            x0 = baseline_image(x.detach(), s.baseline, normalization, s.seed)
            return NoiseTunnel(IntegratedGradients(model)).attribute(
                x, target=target, nt_type="smoothgrad", nt_samples=s.samples, stdevs=stdev, baselines=x0, n_steps=s.steps,
                nt_samples_batch_size=max(1, 1000 // s.steps))

    def imports(self, s: Settings) -> tuple[str, ...]:
        return ("NoiseTunnel", "IntegratedGradients" if self._over_ig(s) else "Saliency")

    def baselines(self, s: Settings) -> tuple[str, ...]:
        return (s.baseline,) if self._over_ig(s) else ()

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        stdev = f"{s.noise / 255 / normalization[1]:.4g}"
        inner = "IntegratedGradients" if self._over_ig(s) else "Saliency"
        return (f"attributions = NoiseTunnel({inner}(model)).attribute(\n"
                f"    x, target={target}, nt_type=\"smoothgrad\", nt_samples={s.samples}, stdevs={stdev}"
                + (f", baselines=x0_{s.baseline}, n_steps={s.steps})" if self._over_ig(s) else ", abs=True)")
                + f"  # σ = {s.noise:g} pixel values")


class GuidedBackprop(Method):
    """The gradient with every ReLU letting only positive gradients back."""

    key = "guided-backprop"
    paper, url = "Springenberg et al. 2015", "https://arxiv.org/abs/1412.6806"
    captum = ("GuidedBackprop",)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import GuidedBackprop

        return GuidedBackprop(model).attribute(x, target=target)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return f"attributions = GuidedBackprop(model).attribute(x, target={target})"


def feature_maps(model: nn.Module, layer: str) -> nn.Module:
    """The module whose output Grad-CAM reads for conv ``layer``: the activation right after it.

    Grad-CAM weighs a layer's feature maps ``A_c`` — in the paper the rectified outputs of a
    convolution. Before its ReLU, ``conv2``'s output is mostly negative background and the
    weighted sum comes out negative everywhere (an empty map). A model with sigmoid or tanh
    gives the maps after that function.
    """
    children = list(model.named_children())
    names = [name for name, _ in children]
    index = names.index(layer)
    if index + 1 < len(children) and isinstance(children[index + 1][1], tuple(ACTIVATION_LAYERS.values())):
        return children[index + 1][1]
    return children[index][1]


class GradCam(Method):
    """``ReLU(Σ_c α_c A_c)``, ``α_c`` the mean gradient of feature map ``A_c`` of the layer (after its ReLU).

    Upsampled to the picture's size; the layer's own coarse map is kept too.
    """

    key = "grad-cam"
    paper, url = "Selvaraju et al. 2017", "https://arxiv.org/abs/1610.02391"
    signed = False
    settings = ("layer",)
    needs_conv = True
    captum = ("LayerAttribution", "LayerGradCam")

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import LayerAttribution, LayerGradCam

        cam = LayerGradCam(model, feature_maps(model, s.layer)).attribute(x, target=target, relu_attributions=True)
        upsampled = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
        return upsampled, {"coarse": cam.detach().to("cpu", torch.float32)[0, 0].clamp(min=0)}

    def finish(self, summed: torch.Tensor, s: Settings) -> torch.Tensor:
        return summed.clamp(min=0)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return (f"# {s.layer}'s feature maps, after its ReLU\n"
                f"cam = LayerGradCam(model, model.{s.layer.replace('conv', 'relu')}).attribute(x, target={target}, "
                f"relu_attributions=True)\n"
                f"attributions = LayerAttribution.interpolate(cam, (28, 28), interpolate_mode=\"bilinear\")")


_OCCLUSION_MASKS: dict[tuple, torch.Tensor] = {}
MAX_OCCLUSION_MASKS = 2048  # 28×28 masks: a few MB at most


@functools.cache
def _occlusion_class():  # noqa: ANN202 - a Captum class, imported lazily
    """Captum's Occlusion, with the mask of each window position made once per process.

    Captum pads a fresh window of ones into a mask for every position of every call — 169
    small ``F.pad`` calls for a 4×4 window with stride 2, a third of the map's time. The mask depends only on the
    position, the window, the strides and the picture's shape (the window is always Captum's
    own tensor of ones), so it is kept — read only: Captum stacks the masks, never writes to
    them. This overrides a private method of Captum (tests/test_methods.py fails loudly if it
    changes); benchmarks/saliency_speed.py measures what it saves.
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


class Occlusion(Method):
    """How much the score drops when a ``window``×``window`` black patch covers the pixel, moved by ``stride``.

    No gradients: all positions go through the model, :data:`OCCLUSION_BATCH` at a time.
    """

    key = "occlusion"
    paper, url = "Zeiler & Fergus 2014", "https://arxiv.org/abs/1311.2901"
    settings = ("window", "stride")
    captum = ("Occlusion",)

    def check(self, s: Settings) -> None:
        if s.stride > s.window:
            raise LocalizedError("err.sal_stride", stride=s.stride, window=s.window)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        # Captum's Occlusion with its masks kept between calls saves a third of the map's time
        # (3.5 ms instead of 5.3 ms for 4×4, stride 2: benchmarks/saliency_speed.py).
        return _occlusion_class()(model).attribute(x.detach(), target=target, sliding_window_shapes=(1, s.window, s.window),
                                                   strides=(1, s.stride, s.stride), baselines=pixel_value(0.0, normalization),
                                                   perturbations_per_eval=OCCLUSION_BATCH)

    def baselines(self, s: Settings) -> tuple[str, ...]:
        return ("black",)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return (f"attributions = Occlusion(model).attribute(\n"
                f"    x, target={target}, sliding_window_shapes=(1, {s.window}, {s.window}), "
                f"strides=(1, {s.stride}, {s.stride}),\n"
                f"    baselines=x0_black, perturbations_per_eval={OCCLUSION_BATCH})")


class DeepLift(Method):
    """The difference from the baseline, propagated layer by layer with the rescale rule; adds up like IG."""

    key = "deeplift"
    paper, url = "Shrikumar et al. 2017", "https://arxiv.org/abs/1704.02685"
    settings = ("baseline", "seed")
    captum = ("DeepLift",)

    def relevant(self, values: Mapping[str, object]) -> tuple[str, ...]:
        return _seed_for_noise_only(self.settings, values)

    def compute(self, model: nn.Module, x: torch.Tensor, target: int, s: Settings, normalization: Norm) -> Computed:
        from captum.attr import DeepLift

        x0 = baseline_image(x.detach(), s.baseline, normalization, s.seed)
        maps, delta = DeepLift(model).attribute(x, baselines=x0, target=target, return_convergence_delta=True)
        return maps, _completeness(model, x, x0, target, delta)

    def baselines(self, s: Settings) -> tuple[str, ...]:
        return (s.baseline,)

    def code(self, target: int, s: Settings, normalization: Norm) -> str:
        return (f"attributions, delta = DeepLift(model).attribute(\n"
                f"    x, baselines=x0_{s.baseline}, target={target}, return_convergence_delta=True)")


METHODS: dict[str, Method] = {m.key: m for m in (
    Saliency(), InputXGradient(), IntegratedGradients(), SmoothGrad(), GuidedBackprop(), GradCam(), Occlusion(), DeepLift(),
)}


def method_info(method: str) -> Method:
    """The registered method called ``method``; ``LocalizedError("err.unknown_choice")`` for any other name."""
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise LocalizedError("err.unknown_choice", value=str(method)[:30], choices=", ".join(METHODS)) from None


def settings_used(methods: Iterable[str]) -> tuple[Setting, ...]:
    """The settings any of ``methods`` reads, in the order of :data:`SETTINGS`: the widgets a page shows for them."""
    names = {name for key in methods for name in method_info(key).settings}
    return tuple(spec for spec in SETTINGS if spec.name in names)


def register(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` (after the others); its settings must be declared in ``SETTINGS``."""
    if not isinstance(method, Method) or not isinstance(getattr(method, "key", None), str):
        raise TypeError("A method is an instance of a Method subclass with a key.")
    if method.key in METHODS:
        raise ValueError(f"A method called {method.key!r} is registered already.")
    undeclared = sorted(set(method.settings) - set(SETTING))
    if undeclared:
        raise ValueError(f"{method.key}: undeclared settings {', '.join(undeclared)}; declare them in SETTINGS.")
    METHODS[method.key] = method
    return method


@contextlib.contextmanager
def registered(method: Method) -> Iterator[Method]:
    """``method`` in the registry for the ``with`` block only (tests, experiments)."""
    register(method)
    try:
        yield method
    finally:
        METHODS.pop(method.key, None)
