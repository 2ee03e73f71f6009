"""Streamlit helpers shared by the pages: the only part of ``explainer`` that imports streamlit."""

from .navigation import SECTIONS, build_navigation, ensure_navigation, lesson_sections
from .sidebar import render_sidebar
from .state import SharedModel, current_model, labeller, language, model_or_stop, runtime_device, shipped_model, tr

__all__ = [
    "SECTIONS",
    "SharedModel",
    "build_navigation",
    "current_model",
    "ensure_navigation",
    "labeller",
    "language",
    "lesson_sections",
    "model_or_stop",
    "render_sidebar",
    "runtime_device",
    "shipped_model",
    "tr",
]
