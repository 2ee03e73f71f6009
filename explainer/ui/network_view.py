"""The overview's picture of the whole network: an inline HTML component, clickable unit by unit.

Plotly's ``on_select`` reports no clicks on heatmaps, and a scatter of square markers for the
~23,000 values of one digit is a figure of several megabytes; so the overview is a
``st.components.v2`` component: the page sends the numbers once (JSON, ~160 kB, shared by
every tab that looks at the same digit), the browser paints each map on a canvas of its own
size, draws the connections in SVG, shows values on hover and sends back the unit clicked
(``conv2:5:7:7``). It needs no build step and no network (see ``assets/overview.js``).
"""

from __future__ import annotations

import json
import streamlit as st
import torch

from explainer.forward import Trace
from explainer.overview import overview

from .figure_cache import shared_figures
from .components import inline_component
from .state import tr

_COMPONENT = inline_component("cnn_explainer_overview", "overview")
UNIT_KEY = "unit"  # the clicked unit (``conv2:5:7:7``): the overview's setting, in the address as ``?unit=``
KINDS = ("input", "conv", "relu", "pool", "flatten", "linear", "logits", "softmax")


@shared_figures(max_entries=32)
def network_payload(_model: torch.nn.Module, _result: Trace, model: str, digit: str, classes: tuple[str, ...]) -> str:
    """The overview of one digit as JSON text, one per (model, digit) for every tab (pages only read it).

    Sent as text, the component's data is serialised and hashed as one string, not walked
    value by value on every rerun.
    """
    return json.dumps(overview(_model, _result, list(classes)).to_dict(digits=3), separators=(",", ":"))


def _texts() -> dict[str, object]:
    return {
        "kinds": {kind: tr(f"ov.kind.{kind}") for kind in KINDS},
        "pixel": tr("ov.hover_pixel"),
        "pixel_one": tr("ov.hover_pixel_one"),
        "unit": tr("ov.hover_unit"),
        "class_unit": tr("ov.hover_class"),
        "more": tr("ov.more"),
    }


def network_overview(payload: str, selected: str | None, presenting: bool, key: str, on_pick) -> None:  # noqa: ANN001
    """Draw the network; a click on a unit calls ``on_pick`` (a callback: it reads the unit with :func:`picked_unit`)."""
    _COMPONENT(key=key, data={"net": payload, "selected": selected, "presenting": presenting, "texts": _texts()},
               on_unit_change=on_pick, width="stretch")


def picked_unit(key: str) -> str | None:
    """In the component's callback: the unit just clicked (``conv2:5:7:7``)."""
    state = st.session_state.get(key)
    value = state.get("unit") if hasattr(state, "get") else getattr(state, "unit", None)
    return value if isinstance(value, str) else None
