"""The sidebar every page shares: language, device, the model in use and its dataset."""

from __future__ import annotations

import streamlit as st

from explainer.checkpoint import CheckpointError
from explainer.i18n import DEFAULT_LANGUAGE, LANGUAGES
from explainer.model import count_parameters

from .address import option
from .state import (
    LANG_KEY,
    MODEL_CHOICE_KEY,
    SESSION_CHOICE,
    SharedModel,
    current_model,
    labeller,
    language,
    model_choice,
    model_choices,
    runtime_device_name,
    tr,
)
from .desk import keep_desk_cookie, settle_desk, store_problem
from .training import sidebar_status


def render_sidebar(training_status: bool = True) -> SharedModel | None:
    """Draw the sidebar; returns the session's model, or None when no model can be loaded.

    ``training_status``: show the progress of this session's training (off on the training
    page itself, which shows it large).
    """
    language()  # make sure the session's language is set before the widget reads it
    settle_desk()  # this browser's desk: its runs and chosen model are back before the model widget is drawn
    with st.sidebar:
        option(st.selectbox, tr("sidebar.language"), list(LANGUAGES), format_func=LANGUAGES.__getitem__, key=LANG_KEY,
               index=list(LANGUAGES).index(DEFAULT_LANGUAGE))
        st.markdown(f"**{tr('sidebar.device')}**")
        st.caption(runtime_device_name())
        model_choice()  # a valid pick before the widget reads it
        option(st.selectbox, tr("sidebar.model"), model_choices(), key=MODEL_CHOICE_KEY, format_func=labeller("sidebar.choice."))
        try:
            shared = current_model()
        except CheckpointError as exc:
            st.error(tr("sidebar.model_error", reason=str(exc)))
            return None
        meta = shared.meta
        lines = [
            tr(f"model.kind.{meta.model.kind}"),
            tr("sidebar.parameters", count=f"{count_parameters(shared.model):,}"),
            tr("sidebar.dataset", dataset=tr(f"dataset.{meta.dataset}")),
        ]
        if meta.test_accuracy is not None:
            lines.append(tr("sidebar.accuracy", accuracy=f"{meta.test_accuracy:.1%}"))
        lines.append(tr("sidebar.source_session") if model_choice() == SESSION_CHOICE else tr("sidebar.source_shipped"))
        st.caption("  \n".join(lines))
        if training_status:
            sidebar_status()
        problem = store_problem()
        if problem is not None:
            st.caption(f":material/cloud_off: {problem.message(language())}")
        keep_desk_cookie()  # draws nothing: a new desk's cookie, for the browser to keep
    return shared
