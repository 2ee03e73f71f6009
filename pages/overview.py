"""The whole network at a glance for one digit; click any unit to see how it was computed."""

import hashlib

import streamlit as st

from explainer.forward import trace
from explainer.overview import UnitError, parse_unit
from explainer.ui import ensure_navigation, language, model_or_stop, tr
from explainer.ui.address import keep_in_address, link_value, reject, set_settings
from explainer.ui.data import digits_to_choose
from explainer.ui.digits import choose_digit, chooser_hidden, chosen_mode
from explainer.ui.network_view import UNIT_KEY, network_overview, network_payload, picked_unit
from explainer.ui.presenter import aside
from explainer.ui.state import end_page
from explainer.ui.unit_view import STEP, show_unit
from explainer.ui.widgets import page_start

NET_KEY = "ov_net"

ensure_navigation()
lang = language()
shared = model_or_stop()
meta = shared.meta
classes = list(meta.classes)
presenting = page_start("ov")
dataset = digits_to_choose(meta.dataset)

hidden = chooser_hidden(presenting, dataset)
drawing = chosen_mode(dataset) != "gallery"  # the canvas or the uploader must be in sight
with aside("ov_digit") if hidden else st.expander(tr("ov.choose"), icon=":material/gesture:", expanded=drawing):
    picked = choose_digit("ov_", dataset, classes, meta.dataset)
if picked is None:
    st.info(tr("ov.no_digit"), icon=":material/gesture:")
    end_page()

digit = picked.tensor((meta.mean, meta.std))
result = trace(shared.model, digit, shared.lock)
digit_key = hashlib.sha1(digit.detach().cpu().numpy().tobytes()).hexdigest()
prediction = result.prediction
which = tr("ov.digit_test", n=picked.index) if picked.index is not None else tr(f"ov.digit_{picked.source}")
truth = tr("ov.digit_truth", label=classes[picked.label]) if picked.label is not None else ""
st.markdown(tr("ov.digit_line", which=which, truth=truth, label=classes[prediction],
               p=f"{float(result.probabilities[prediction]):.1%}"))

link = link_value(UNIT_KEY)
if link is not None:
    st.session_state[UNIT_KEY] = link
ref = None
if st.session_state.get(UNIT_KEY):
    try:
        ref = parse_unit(st.session_state[UNIT_KEY], result)
    except UnitError:
        if link is not None:
            reject(UNIT_KEY)
        st.session_state.pop(UNIT_KEY, None)  # another model's unit (the sidebar's model changed): nothing chosen
keep_in_address(UNIT_KEY, ref.text if ref is not None else None)


def _picked() -> None:
    """The component's click: that unit, its computation from the first step."""
    unit = picked_unit(NET_KEY)
    if unit:
        st.session_state[UNIT_KEY] = unit
        set_settings({STEP: 1})


payload = network_payload(shared.model, result, shared.checkpoint.digest, digit_key, tuple(classes))
network_overview(payload, ref.text if ref is not None else None, presenting, NET_KEY, _picked)
if not presenting:
    st.caption(tr("ov.colours"))
if ref is None:
    st.info(tr("ov.click"), icon=":material/touch_app:")
    end_page()
raw = None
if len(ref.index) == 3 and ref.stage == "input":
    raw = int(picked.image[ref.index[1], ref.index[2]])
show_unit(shared, result, ref, classes, lang, raw)
