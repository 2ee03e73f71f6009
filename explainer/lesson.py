"""A 45-minute lesson through the app: where to stop, what to show, what to ask.

Each stop opens a page in a prepared view: its parameters name every setting the moment
depends on, inputs included, so the stops work in any order, in one tab or many, after any
amount of playing around in between (the page's other settings go back to their defaults,
see ``explainer/ui/address.py``). The hand-set stops carry their own numbers: the
convolution's output, shifted down by 10, through ReLU; that ReLU's output pooled; that
pooled block flattened — the course example's story, stop by stop.

Each stop follows "predict, then reveal": the teacher asks the class to predict what the
next click will show, takes a few answers, then clicks. The texts live in the catalog
(``lesson.<stop>.title/show/ask/reveal``), in English and Chinese.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from .stages import PoolSettings, course_walkthrough, grid_text, pool

RELU_SHIFT = -10  # the convolution's output shifted down so that some of it is negative


@dataclass(frozen=True)
class Stop:
    key: str  # catalog keys lesson.<key>.title / .show / .ask / .reveal
    page: str  # file in pages/, e.g. "pages/convolution.py"
    start: int  # minutes into the lesson
    end: int
    params: dict[str, str] = field(default_factory=dict)  # the page's settings (address parameters)


def _text(grid: torch.Tensor) -> str:
    return grid_text(grid).replace("\n", ";")


@functools.cache
def stop_numbers() -> dict[str, torch.Tensor]:
    """The numbers the hand-set stops start from: the course's convolution output, ReLU's input and
    output, and the pooled block (max pooling 2×2, stride 2, padding 1)."""
    conv = course_walkthrough().conv.output
    relu = (conv + RELU_SHIFT).clamp(min=0)
    return {"conv": conv, "relu": relu, "pool": pool(relu, PoolSettings("max", 2, 2, 1)).output}


def _lesson() -> tuple[Stop, ...]:
    numbers = stop_numbers()
    return (
        Stop("model", "pages/model.py", 0, 4, {"model_tab": "architecture", "model": "simplecnn"}),
        Stop("conv", "pages/convolution.py", 4, 11, {"conv_kernel_preset": "vertical_edge", "conv_step": "4"}),
        Stop("relu", "pages/activation.py", 11, 14, {"relu_source": "own", "relu_input": _text(numbers["conv"]),
                                                     "relu_shift": str(RELU_SHIFT), "relu_activation": "relu"}),
        Stop("pool", "pages/pooling.py", 14, 17, {"pool_source": "own", "pool_input": _text(numbers["relu"]), "pool_kind": "max",
                                                  "pool_kernel": "2", "pool_stride": "2", "pool_padding": "1", "pool_step": "1"}),
        Stop("fc", "pages/fully_connected.py", 17, 20, {"fc_source": "own", "fc_input": _text(numbers["pool"]), "fc_outputs": "3",
                                                        "fc_neuron": "0"}),
        Stop("softmax", "pages/softmax.py", 20, 23, {"softmax_preset": "huge"}),
        Stop("overview", "pages/overview.py", 23, 27, {"digit_mode": "gallery", "digit": "5", "unit": "conv2:7:6:7",
                                                      "ov_step": "1", "model": "simplecnn"}),
        Stop("forward", "pages/forward.py", 27, 30, {"digit_mode": "draw", "fwd_step": "conv1", "model": "simplecnn"}),
        Stop("descent", "pages/descent.py", 30, 34, {"gd_one_function": "parabola", "gd_one_lr": "0.3", "gd_one_step": "1"}),
        Stop("train", "pages/train.py", 34, 38, {"train_kind": "softmax", "train_epochs": "2"}),
        Stop("board", "pages/board.py", 38, 40, {"board_kinds": "simplecnn,mlp,softmax"}),
        Stop("saliency", "pages/saliency.py", 40, 45, {"digit_mode": "draw", "sal_target": "predicted",
                                                       "sal_methods": "saliency,integrated-gradients,grad-cam,occlusion"}),
    )


LESSON: tuple[Stop, ...] = _lesson()
LESSON_MINUTES = LESSON[-1].end


def lesson_stops(available: set[str]) -> list[Stop]:
    """The stops whose page this app has (``available``: page files), in lesson order."""
    return [stop for stop in LESSON if stop.page in available]
