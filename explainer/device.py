"""Pick the device once: CUDA GPU, then Apple's MPS, then the CPU — overridable.

The override is the ``device`` argument (``--device`` on the command line) or the
``EXPLAINER_DEVICE`` environment variable; ``auto`` means "the best one present".
"""

from __future__ import annotations

import os

import torch

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(preference: str | None = None) -> torch.device:
    """The device to compute on: ``preference``, else ``$EXPLAINER_DEVICE``, else the best present.

    ``cuda`` and ``cuda:N`` need a CUDA GPU and ``mps`` an Apple GPU; asking for one that is
    not there raises ValueError with what to do instead, rather than failing later.
    """
    pref = (preference or os.environ.get("EXPLAINER_DEVICE") or "auto").strip().lower()
    if pref == "auto":
        if cuda_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(pref)
    except RuntimeError:
        raise ValueError(f"Unknown device {pref!r}; choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N).") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not cuda_available():
            raise ValueError("A CUDA GPU was asked for, but none is available here; use --device cpu (or auto).")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"There is no GPU number {device.index}; this machine has {torch.cuda.device_count()}.")
        return device
    if device.type == "mps":
        if not mps_available():
            raise ValueError("An Apple GPU (mps) was asked for, but none is available here; use --device cpu (or auto).")
        return device
    raise ValueError(f"Unknown device {pref!r}; choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N).")


def device_name(device: torch.device | str) -> str:
    """A human name for the device: the GPU's model name, or the CPU with its thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (Metal)"
    return f"CPU ({torch.get_num_threads()} threads)"
