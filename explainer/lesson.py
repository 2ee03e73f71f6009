"""A 45-minute lesson through the app: where to stop, what to show, what to ask.

Each stop opens a page in a prepared state (the page's link parameters, see
``explainer/ui/links.py``) and follows "predict, then reveal": the teacher asks the class
to predict what the next click will show, takes a few answers, then clicks. The texts live
in the catalog (``lesson.<stop>.title/show/ask/reveal``), in English and Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stop:
    key: str  # catalog keys lesson.<key>.title / .show / .ask / .reveal
    page: str  # file in pages/, e.g. "pages/convolution.py"
    start: int  # minutes into the lesson
    end: int
    params: dict[str, str] = field(default_factory=dict)  # the page's link parameters


LESSON: tuple[Stop, ...] = (
    Stop("model", "pages/model.py", 0, 4, {"tab": "architecture"}),
    Stop("conv", "pages/convolution.py", 4, 11, {"kernel": "vertical_edge", "step": "4"}),
    Stop("relu", "pages/activation.py", 11, 14, {"source": "previous", "f": "relu", "shift": "-10"}),
    Stop("pool", "pages/pooling.py", 14, 17, {"source": "previous", "kind": "max", "step": "1"}),
    Stop("fc", "pages/fully_connected.py", 17, 20, {"source": "previous", "neuron": "0"}),
    Stop("softmax", "pages/softmax.py", 20, 23, {"preset": "huge"}),
    Stop("forward", "pages/forward.py", 23, 30, {"mode": "draw", "step": "2"}),
    Stop("descent", "pages/descent.py", 30, 34, {"fn": "parabola", "lr": "0.3", "step": "1"}),
    Stop("train", "pages/train.py", 34, 40, {"model": "softmax", "epochs": "2"}),
    Stop("saliency", "pages/saliency.py", 40, 45,
         {"target": "predicted", "methods": "saliency,integrated-gradients,grad-cam,occlusion"}),
)
LESSON_MINUTES = LESSON[-1].end


def lesson_stops(available: set[str]) -> list[Stop]:
    """The stops whose page this app has (``available``: page files), in lesson order."""
    return [stop for stop in LESSON if stop.page in available]
