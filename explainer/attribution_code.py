"""The Captum code behind each attribution map, as a student would type it (shown under the maps).

The lines use the page's settings, so that the code and the picture always agree.
"""

from __future__ import annotations

from .saliency import BASELINES, MNIST_NORMALIZATION, OCCLUSION_BATCH, Settings, method_info


def method_code(method: str, target: int, settings: Settings | None = None,
                normalization: tuple[float, float] = MNIST_NORMALIZATION) -> str:
    """The Captum lines that compute ``method``'s map for class ``target``, with these settings."""
    s = settings or Settings()
    stdev = f"{s.noise / 255 / normalization[1]:.4g}"
    inner = "IntegratedGradients" if s.smooth_over == "integrated-gradients" else "Saliency"
    lines = {
        "saliency": f"attributions = Saliency(model).attribute(x, target={target}, abs=True)",
        "input-x-gradient": f"attributions = InputXGradient(model).attribute(x, target={target})",
        "integrated-gradients": (f"attributions, delta = IntegratedGradients(model).attribute(\n"
                                 f"    x, baselines=x0_{s.baseline}, target={target}, n_steps={s.steps}, return_convergence_delta=True)"),
        "smoothgrad": (f"attributions = NoiseTunnel({inner}(model)).attribute(\n"
                       f"    x, target={target}, nt_type=\"smoothgrad\", nt_samples={s.samples}, stdevs={stdev}"
                       + (f", baselines=x0_{s.baseline}, n_steps={s.steps})" if inner == "IntegratedGradients" else ", abs=True)")
                       + f"  # σ = {s.noise:g} pixel values"),
        "guided-backprop": f"attributions = GuidedBackprop(model).attribute(x, target={target})",
        "grad-cam": (f"# {s.layer}'s feature maps, after its ReLU\n"
                     f"cam = LayerGradCam(model, model.{s.layer.replace('conv', 'relu')}).attribute(x, target={target}, "
                     f"relu_attributions=True)\n"
                     f"attributions = LayerAttribution.interpolate(cam, (28, 28), interpolate_mode=\"bilinear\")"),
        "occlusion": (f"attributions = Occlusion(model).attribute(\n"
                      f"    x, target={target}, sliding_window_shapes=(1, {s.window}, {s.window}), strides=(1, {s.stride}, {s.stride}),\n"
                      f"    baselines=x0_black, perturbations_per_eval={OCCLUSION_BATCH})"),
        "deeplift": (f"attributions, delta = DeepLift(model).attribute(\n"
                     f"    x, baselines=x0_{s.baseline}, target={target}, return_convergence_delta=True)"),
    }
    return lines[method_info(method).key]


_CLASSES = {"saliency": ["Saliency"], "input-x-gradient": ["InputXGradient"], "integrated-gradients": ["IntegratedGradients"],
            "guided-backprop": ["GuidedBackprop"], "grad-cam": ["LayerAttribution", "LayerGradCam"],
            "occlusion": ["Occlusion"], "deeplift": ["DeepLift"]}
_BASELINE_CODE = {
    "black": "x0_black = torch.full_like(x, (0 - {mean:g}) / {std:g})",
    "blurred": "x0_blurred = torchvision.transforms.functional.gaussian_blur(x, kernel_size=25, sigma=4.0)",
    "noise": "x0_noise = (torch.rand_like(x) - {mean:g}) / {std:g}   # uniform pixels 0–255",
}


def captum_code(methods: list[str], target: int, settings: dict[str, object],
                normalization: tuple[float, float] = MNIST_NORMALIZATION) -> str:
    """A short script: the imports, the baseline and one Captum call per method (settings as on the page)."""
    chosen = {m: Settings.for_method(m, **settings) for m in methods}
    names: set[str] = set()
    baselines: set[str] = set()
    for m, s in chosen.items():
        names.update(_CLASSES.get(m, []))
        if m == "smoothgrad":
            names.update(["NoiseTunnel", "IntegratedGradients" if s.smooth_over == "integrated-gradients" else "Saliency"])
        if m == "occlusion":
            baselines.add("black")
        if m in ("integrated-gradients", "deeplift") or m == "smoothgrad" and s.smooth_over == "integrated-gradients":
            baselines.add(s.baseline)
    mean, std = normalization
    imports = f"from captum.attr import {', '.join(sorted(names))}"
    if len(imports) > 90:
        imports = "from captum.attr import (\n" + "".join(f"    {n},\n" for n in sorted(names)) + ")"
    lines = [imports, "", "model.eval()"]
    lines += [_BASELINE_CODE[b].format(mean=mean, std=std) for b in BASELINES if b in baselines]
    return "\n".join(lines + [""] + [method_code(m, target, s, normalization) for m, s in chosen.items()])
