"""The app's inline components (``st.components.v2``): HTML, CSS and JS shipped in ``assets/``, no build step, no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

ASSETS = Path(__file__).parent / "assets"


def inline_component(name: str, stem: str) -> Any:  # noqa: ANN401 - Streamlit's component callable
    """The component ``name`` from ``assets/<stem>.js`` (and ``assets/<stem>.css`` when there is one)."""
    css = ASSETS / f"{stem}.css"
    return st.components.v2.component(name, html="", css=css.read_text(encoding="utf-8") if css.exists() else None,
                                      js=(ASSETS / f"{stem}.js").read_text(encoding="utf-8"))
