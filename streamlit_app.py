"""CNN Explainer: the entry point. Start with ``streamlit run streamlit_app.py``.

It only sets the page up, opens a link's prepared view, draws the shared sidebar and runs
the page the student chose; each page lives in ``pages/`` and every computation in the
``explainer`` package.
"""

import streamlit as st

from explainer.ui import build_navigation, render_sidebar, tr
from explainer.ui.address import arrive, link_note_slot, settle
from explainer.ui.navigation import IN_APP
from explainer.ui.state import adopt_language

adopt_language()
st.set_page_config(page_title=tr("app.title"), page_icon=":material/neurology:", layout="wide")
page, spec = build_navigation()
arrive(spec.owner)
slot = link_note_slot()
render_sidebar(training_status=spec.url_path != "train")
st.session_state[IN_APP] = True
try:
    page.run()
finally:
    st.session_state[IN_APP] = False
    settle(slot)
