"""Softmax and the losses: from logits to probabilities, step by step, then how wrong the answer is."""

import pandas as pd
import streamlit as st

from explainer.stages import course_walkthrough, cross_entropy, fmt, hinge, loss_table, parse_vector_text, softmax
from explainer.stages.softmax import LOGIT_PRESETS, MARGIN, MAX_LOGITS, TEMPERATURES
from explainer.ui.state import end_page
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.address import bound, option
from explainer.ui.export import export_buttons
from explainer.ui.figure_cache import softmax_chart
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import follow, page_start, provenance, reset_button, show_error, upstream

ensure_navigation()
lang = language()
presenting = page_start("softmax")
fc_output, from_session = upstream("fc", lambda: course_walkthrough().fc.output)


def preset_text(name: str) -> str:
    """The logits of a preset as the text box shows them (the course's: the fully connected page's output)."""
    return LOGIT_PRESETS[name] or " ".join(fmt(v, 6) for v in fc_output.tolist())


controls, figure = (aside("softmax_controls"), st.container()) if presenting else st.columns([1, 2], gap="large")
with controls:
    preset = option(st.selectbox, tr("stage.preset"), list(LOGIT_PRESETS), key="softmax_preset",
                    format_func=labeller("softmax.preset."), on_change=follow,
                    args=("softmax_preset", lambda name: {"softmax_logits": preset_text(name)}))
    text = bound(st.text_input, tr("softmax.logits"), value=preset_text(preset), key="softmax_logits",
                         help=tr("softmax.logits_help"))
    if preset == "course":
        provenance(from_session)
    temperature = bound(st.select_slider, tr("softmax.temperature"), TEMPERATURES, value=1.0, key="softmax_temperature", help=tr("softmax.temperature_help"))
    reset_button("softmax_")
try:
    logits = parse_vector_text(text, "logits", max_len=MAX_LOGITS)
    result = softmax(logits, temperature)
except ValueError as exc:
    with figure:
        show_error(exc)
    end_page()

classes = [str(i) for i in range(len(logits))]
with controls:
    target = option(st.selectbox, tr("softmax.target"), list(range(len(classes))), key="softmax_target", format_func=str)
with figure:
    plotly_chart(softmax_chart(result, classes, target, lang), key="softmax_figure")
with aside("softmax_margin") if presenting else st.container():
    margin = bound(st.slider, tr("softmax.margin"), **MARGIN.widget, key="softmax_margin")

st.subheader(tr("softmax.steps_title"))  # the steps stay while presenting: the lesson's question is about them
steps = pd.DataFrame({
    tr("softmax.col.class"): classes, "z": [fmt(v, 4) for v in result.logits.tolist()],
    "z / T": [fmt(v, 4) for v in result.scaled.tolist()], "z / T − max": [fmt(v, 4) for v in result.shifted.tolist()],
    "exp(·)": [fmt(v, 6) for v in result.exps.tolist()], "p = exp / Σ": [fmt(v, 6) for v in result.probabilities.tolist()],
})
if presenting:  # an HTML table: its numbers follow presenter mode's type size
    st.table(steps.set_index(tr("softmax.col.class")))
else:
    st.dataframe(steps, hide_index=True)
st.markdown(tr("softmax.sum", total=fmt(result.total, 6)))
if result.naive_fails:
    st.warning(tr("softmax.naive_fails"), icon=":material/warning:")
else:
    st.caption(tr("softmax.naive_ok"))
if presenting:
    end_page()

st.divider()
left, right = st.columns(2, gap="large")
with left:
    st.header(tr("softmax.ce_title"))
    ce = cross_entropy(result.logits, target, temperature=result.temperature)
    st.latex(rf"L = -\log p_{{{target}}} = -\log {fmt(ce.probability, 6)} = {fmt(ce.loss, 4)}")
    st.markdown(tr("softmax.ce_text"))
    st.success(tr("softmax.ce_check", ce=fmt(ce.via_cross_entropy, 6), nll=fmt(ce.via_log_softmax_nll, 6)),
               icon=":material/check_circle:")
with right:
    st.header(tr("softmax.hinge_title"))
    h = hinge(result.logits, target, margin)
    z = list(h.scores)

    def num(v: float) -> str:
        return f"({fmt(v)})" if v < 0 else fmt(v)

    lines = [rf"&\max(0,\ {num(z[j])} - {num(z[target])} + {fmt(margin)}) = {fmt(h.terms[j])}" for j in range(len(z)) if j != target]
    st.latex(r"\begin{aligned}" + r" \\ ".join(lines) + rf" \\ L &= {fmt(h.loss, 4)}\end{{aligned}}")
    st.markdown(tr("softmax.hinge_text", pytorch=fmt(h.pytorch_multi_margin, 4), n=len(classes)))

st.divider()
st.header(tr("softmax.table_title"))
st.markdown(tr("softmax.table_intro", target=target))
rows = [{tr("softmax.col.loss"): tr(f"loss.{row.name}"), tr("softmax.col.value"): fmt(row.value, 4),
         tr("softmax.col.code"): row.code, tr("softmax.col.when"): tr(f"loss.{row.name}.when")}
        for row in loss_table(result.logits, target, temperature=result.temperature)]
st.table(pd.DataFrame(rows).set_index(tr("softmax.col.loss")))
st.subheader(tr("stage.notice"))
st.markdown(tr("softmax.notice"))
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons("softmax_")
