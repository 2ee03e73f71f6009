"""The "for slides" export of the hand-set stages: the session's chain as one PNG or SVG strip."""

from __future__ import annotations

import streamlit as st
import torch

from explainer.figures.export import Panel, stage_strip
from explainer.stages import course_walkthrough, softmax
from explainer.stages.grid import DTYPE

from .state import language, tr
from .grids import grid_value
from .widgets import CHAIN_KEY


def chain_panels() -> list[Panel]:
    """input ⊛ kernel → conv → ReLU → pool → flatten → fc → softmax, as this session has them now.

    Each stage is the one its page last computed; a page not visited yet contributes the
    course example, as the pages themselves do.
    """
    course = course_walkthrough()
    chain = st.session_state.get(CHAIN_KEY, {})

    def stage(name: str, default: torch.Tensor) -> torch.Tensor:
        value = chain.get(name)
        return value.to(DTYPE) if isinstance(value, torch.Tensor) else default

    pooled = stage("pool", course.pool.output)
    logits = stage("fc", course.fc.output)
    return [
        Panel("export.input", grid_value("conv_input", course.conv.input)),
        Panel("export.kernel", grid_value("conv_kernel", course.conv.kernel), "⊛"),
        Panel("export.conv", stage("conv", course.conv.output)),
        Panel("export.relu", stage("relu", course.relu.output)),
        Panel("export.pool", pooled),
        Panel("export.flatten", pooled.flatten()),
        Panel("export.fc", logits),
        Panel("export.softmax", softmax(logits).probabilities),
    ]


def export_buttons(prefix: str) -> None:
    """PNG and SVG download buttons; the picture is drawn only when one is pressed."""
    panels, lang = chain_panels(), language()
    st.caption(tr("export.caption"))
    png, svg = st.columns(2)
    png.download_button(tr("export.png"), lambda: stage_strip(panels, lang, "png"), file_name="cnn-stages.png",
                        mime="image/png", key=f"{prefix}export_png", icon=":material/image:", on_click="ignore",
                        width="stretch")
    svg.download_button(tr("export.svg"), lambda: stage_strip(panels, lang, "svg"), file_name="cnn-stages.svg",
                        mime="image/svg+xml", key=f"{prefix}export_svg", icon=":material/draw:", on_click="ignore",
                        width="stretch")
