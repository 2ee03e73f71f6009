"""The reference picture ``x₀`` of Integrated Gradients and DeepLIFT: "no information".

Both methods explain the change in score from ``x₀`` to the digit, ``s_k(x) − s_k(x₀)``, so
``x₀`` decides the question they answer:

- **black** — every pixel 0: what the strokes add to an empty picture;
- **blurred** — the digit under a Gaussian blur of σ = 4 pixels (torchvision's, out to 3σ):
  the digit's place is kept, its strokes are not;
- **noise** — uniform pixels 0–255 from a seeded generator.

Pictures are in the model's units, ``(pixel / 255 − mean) / std``.
"""

from __future__ import annotations

import math

import torch

from .i18n import LocalizedError

BASELINES = ("black", "blurred", "noise")
MNIST_NORMALIZATION = (0.1307, 0.3081)
BLUR_SIGMA = 4.0  # pixels: the blurred baseline keeps the digit's place but none of its strokes
BLUR_KERNEL = 2 * math.ceil(3 * BLUR_SIGMA) + 1  # 25: the Gaussian out to 3σ on each side


def pixel_value(pixel: float, normalization: tuple[float, float]) -> float:
    """A pixel value 0–255 in the model's units: ``(pixel / 255 − mean) / std``."""
    mean, std = normalization
    return (pixel / 255.0 - mean) / std


def gaussian_blur(x: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """torchvision's Gaussian blur of ``[N, C, H, W]`` out to 3σ (reflected borders), as the shown code calls it.

    Blur and the normalisation commute (both are affine and the kernel sums to 1), so
    blurring in the model's units equals blurring the pixels. On a picture smaller than the
    kernel the kernel is cut to fit (reflection needs a border narrower than the picture).
    """
    from torchvision.transforms.functional import gaussian_blur as blur

    radius = min(math.ceil(3 * sigma), x.shape[-1] - 1, x.shape[-2] - 1)
    return blur(x, kernel_size=2 * radius + 1, sigma=sigma)


def baseline_image(x: torch.Tensor, kind: str, normalization: tuple[float, float], seed: int = 0) -> torch.Tensor:
    """The reference picture ``x₀`` in the model's units: all black, ``x`` blurred, or uniform noise 0–255."""
    if not isinstance(kind, str) or kind not in BASELINES:
        raise LocalizedError("err.unknown_choice", value=str(kind)[:30], choices=", ".join(BASELINES))
    if kind == "black":
        return torch.full_like(x, pixel_value(0.0, normalization))
    if kind == "blurred":
        return gaussian_blur(x, BLUR_SIGMA)
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.rand(x.shape, generator=generator) * 255.0
    mean, std = normalization
    return ((pixels / 255.0 - mean) / std).to(x.device, x.dtype)


def baseline_code(kind: str, normalization: tuple[float, float]) -> str:
    """The line of the shown code that defines ``x0_<kind>`` (the blur is the very call :func:`gaussian_blur` makes)."""
    mean, std = normalization
    return {
        "black": f"x0_black = torch.full_like(x, (0 - {mean:g}) / {std:g})",
        "blurred": f"x0_blurred = torchvision.transforms.functional.gaussian_blur(x, kernel_size={BLUR_KERNEL}, "
                   f"sigma={BLUR_SIGMA})",
        "noise": f"x0_noise = (torch.rand_like(x) - {mean:g}) / {std:g}   # uniform pixels 0–255",
    }[kind]
