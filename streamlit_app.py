"""CNN Explainer: the entry point. Start with ``streamlit run streamlit_app.py``.

It only sets the page up, opens a link's prepared view, draws the shared sidebar and runs
the page the student chose; each page lives in ``pages/`` and every computation in the
``explainer`` package.
"""

from pathlib import Path

from explainer.memory import limit_heaps

limit_heaps()  # first, before PyTorch's threads allocate: two C heaps for the whole class (explainer/memory.py)

import streamlit as st  # noqa: E402

from explainer.ui import build_navigation, render_sidebar, tr  # noqa: E402
from explainer.ui.address import arrive, link_note_slot, settle  # noqa: E402
from explainer.ui.lesson_view import lesson_banner, lesson_controls  # noqa: E402
from explainer.ui.navigation import IN_APP  # noqa: E402
from explainer.ui.state import PageEnd, adopt_language  # noqa: E402

# The keys of Previous / Next (PageUp / PageDown, ← / →: what a presentation clicker sends) are in the
# buttons' help; written on the buttons they took the place of the labels.
HIDE_KEY_HINTS = '<style>button kbd[aria-label^="Shortcut"] { display: none !important; }</style>'
ICON = str(Path(__file__).parent / "explainer" / "ui" / "assets" / "icon.png")

adopt_language()
st.set_page_config(page_title=tr("app.title"), page_icon=ICON, layout="wide")  # the tab's icon ships with the app: no request leaves
st.markdown(HIDE_KEY_HINTS, unsafe_allow_html=True)
page, spec = build_navigation()
arrive(spec.owner)
slot = link_note_slot()
render_sidebar(training_status=spec.url_path != "train")
stop = lesson_banner(spec.path)
st.session_state[IN_APP] = True
try:
    page.run()
except PageEnd:
    pass  # the page ended early (an error, presenter mode): the app still draws its last parts
finally:
    st.session_state[IN_APP] = False
    settle(slot)
    lesson_controls(stop, spec.path)
