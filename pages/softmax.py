"""Softmax and the losses: from logits to probabilities, step by step, then how wrong the answer is."""

import pandas as pd
import streamlit as st

from explainer.figures import softmax_figure
from explainer.stages import course_walkthrough, cross_entropy, fmt, hinge, loss_table, parse_vector_text, softmax
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.export import export_buttons
from explainer.ui.links import PageLink, choice, integer, number, page_start, text
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import provenance, reset_button, show_error, upstream

ensure_navigation()
P = "softmax_"
lang = language()
TEMPERATURES = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
PRESETS = {"course": None, "small": "1 2 7", "close": "2 1 0.1", "huge": "1000 0 -1000"}

fc_output, from_session = upstream("fc", lambda: course_walkthrough().fc.output)


def _apply_preset() -> None:
    name = st.session_state[P + "preset"]
    text = " ".join(fmt(v, 6) for v in fc_output.tolist()) if PRESETS[name] is None else PRESETS[name]
    st.session_state[P + "logits"] = text


LINK = PageLink("softmax", [
    choice("preset", P + "preset", list(PRESETS)).then(lambda _: _apply_preset()), text("z", P + "logits", lambda v: parse_vector_text(v, "logits", max_len=20)),
    number("t", P + "temperature", 0.1, 10.0, options=TEMPERATURES), integer("target", P + "target", 0, 19),
    number("margin", P + "margin", 0.0, 5.0, options=[m / 2 for m in range(11)]),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "softmax")

controls, figure = (aside("softmax_controls"), st.container()) if presenting else st.columns([1, 2], gap="large")
with controls:
    st.selectbox(tr("stage.preset"), list(PRESETS), key=P + "preset", on_change=_apply_preset,
                 format_func=labeller("softmax.preset."))
    if P + "logits" not in st.session_state:
        _apply_preset()
    text = st.text_input(tr("softmax.logits"), key=P + "logits", help=tr("softmax.logits_help"))
    if st.session_state.get(P + "preset") == "course":
        provenance(from_session)
    temperature = st.select_slider(tr("softmax.temperature"), TEMPERATURES, value=1.0, key=P + "temperature",
                                   help=tr("softmax.temperature_help"))
    reset_button(P)

try:
    logits = parse_vector_text(text, "logits", max_len=20)
    result = softmax(logits, temperature)
except ValueError as exc:
    with figure:
        show_error(exc)
    LINK.save()
    st.stop()

classes = [str(i) for i in range(len(logits))]
if st.session_state.get(P + "target", 0) >= len(classes):
    st.session_state[P + "target"] = 0
with controls:
    target = st.selectbox(tr("softmax.target"), list(range(len(classes))), key=P + "target", format_func=lambda i: classes[i])
with figure:
    plotly_chart(softmax_figure(result, classes, target, lang), key=P + "figure")
if presenting:
    with aside("softmax_margin"):  # keeps the margin widget alive while presenting
        st.slider(tr("softmax.margin"), 0.0, 5.0, 1.0, 0.5, key=P + "margin")
    LINK.save()
    st.stop()

st.subheader(tr("softmax.steps_title"))
table = pd.DataFrame({
    tr("softmax.col.class"): classes,
    "z": [fmt(v, 4) for v in result.logits.tolist()],
    "z / T": [fmt(v, 4) for v in result.scaled.tolist()],
    "z / T − max": [fmt(v, 4) for v in result.shifted.tolist()],
    "exp(·)": [fmt(v, 6) for v in result.exps.tolist()],
    "p = exp / Σ": [fmt(v, 6) for v in result.probabilities.tolist()],
})
st.dataframe(table, hide_index=True)
st.markdown(tr("softmax.sum", total=fmt(result.total, 6)))
if result.naive_fails:
    st.warning(tr("softmax.naive_fails"), icon=":material/warning:")
else:
    st.caption(tr("softmax.naive_ok"))

st.divider()
left, right = st.columns(2, gap="large")
with left:
    st.header(tr("softmax.ce_title"))
    ce = cross_entropy(result.scaled, target)
    st.latex(rf"L = -\log p_{{{target}}} = -\log {fmt(ce.probability, 6)} = {fmt(ce.loss, 4)}")
    st.markdown(tr("softmax.ce_text"))
    st.success(tr("softmax.ce_check", ce=fmt(ce.via_cross_entropy, 6), nll=fmt(ce.via_log_softmax_nll, 6)),
               icon=":material/check_circle:")
with right:
    st.header(tr("softmax.hinge_title"))
    margin = st.slider(tr("softmax.margin"), 0.0, 5.0, 1.0, 0.5, key=P + "margin")
    h = hinge(result.scaled, target, margin)
    z = result.scaled.tolist()

    def num(v: float) -> str:
        return f"({fmt(v)})" if v < 0 else fmt(v)

    lines = [
        rf"&\max(0,\ {num(z[j])} - {num(z[target])} + {fmt(margin)}) = {fmt(h.terms[j])}"
        for j in range(len(z)) if j != target
    ]
    st.latex(r"\begin{aligned}" + r" \\ ".join(lines) + rf" \\ L &= {fmt(h.loss, 4)}\end{{aligned}}")
    st.markdown(tr("softmax.hinge_text", pytorch=fmt(h.pytorch_multi_margin, 4), n=len(classes)))

st.divider()
st.header(tr("softmax.table_title"))
st.markdown(tr("softmax.table_intro", target=target))
rows = [{tr("softmax.col.loss"): tr(f"loss.{row.name}"), tr("softmax.col.value"): fmt(row.value, 4),
         tr("softmax.col.code"): row.code, tr("softmax.col.when"): tr(f"loss.{row.name}.when")}
        for row in loss_table(result.scaled, target)]
st.table(pd.DataFrame(rows).set_index(tr("softmax.col.loss")))

st.subheader(tr("stage.notice"))
st.markdown(tr("softmax.notice"))
with st.expander(tr("export.title"), icon=":material/slideshow:"):
    export_buttons(P)
LINK.save()
