"""The forward pass on a real digit: pick, draw or upload one, then step through the trained network."""

import hashlib

import streamlit as st

from explainer.forward import stage_names, trace
from explainer.ui import ensure_navigation, language, model_or_stop, tr
from explainer.ui.data import digits_to_choose
from explainer.ui.digits import choose_digit, chooser_hidden
from explainer.ui.figure_cache import image_chart
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.stage_view import show_stage
from explainer.ui.widgets import page_start, stepper

ensure_navigation()
lang = language()
shared = model_or_stop()
meta = shared.meta
classes = list(meta.classes)
presenting = page_start("fwd")
dataset = digits_to_choose(meta.dataset)

input_column, stage_column = st.columns([1, 3] if presenting else [1, 2.3], gap="large")
with input_column:  # presenting a test digit, its chooser is out of sight; a drawing or an upload needs it
    with aside("fwd_digit") if chooser_hidden(presenting, dataset) else st.container():
        picked = choose_digit("fwd_", dataset, classes, meta.dataset)
result = None
if picked is not None:
    digit = picked.tensor((meta.mean, meta.std))
    result = trace(shared.model, digit, shared.lock)
    digit_key = hashlib.sha1(digit.detach().cpu().numpy().tobytes()).hexdigest()
    prediction = result.prediction
    with input_column:
        st.markdown(f"**{tr('fwd.sees')}**")  # above, not in the figure: its title did not fit the column
        plotly_chart(image_chart(picked.image, height=240), key="fwd_seen")
        a, b = (st.container(), st.container()) if presenting else st.columns(2)  # (stacked on a projector: room for the numbers)
        a.metric(tr("fwd.prediction"), classes[prediction], tr("fwd.confidence", p=f"{float(result.probabilities[prediction]):.1%}"),
                 delta_color="off", delta_arrow="off")
        if picked.label is not None:
            right = picked.label == prediction
            b.metric(tr("fwd.truth"), classes[picked.label], tr("fwd.right") if right else tr("fwd.wrong"),
                     delta_color="normal" if right else "inverse", delta_arrow="off")


names = stage_names(shared.model)


def show(step: int) -> None:
    """One stage of this digit's trace (the steps are there before a digit is, so a link's stage waits for it)."""
    if result is None:
        st.subheader(tr("fwd.stage_title", n=step + 1, total=len(names), name=names[step]))
        st.info(tr("fwd.no_digit"), icon=":material/gesture:")
    else:
        show_stage(shared, result, step, digit_key, classes, presenting, lang)


with stage_column, st.container(key="fwd_stage"):
    stepper("fwd_step", names, show, play=False)
