"""CNN Explainer: the entry point. Start with ``streamlit run streamlit_app.py``.

It only sets the page up, draws the shared sidebar and runs the page the student chose;
each page lives in ``pages/`` and every computation in the ``explainer`` package.
"""

import streamlit as st

from explainer.ui import build_navigation, render_sidebar, tr

st.set_page_config(page_title=tr("app.title"), page_icon=":material/neurology:", layout="wide")
page = build_navigation()
render_sidebar(training_status=page.url_path != "train")
page.run()
