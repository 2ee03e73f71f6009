"""Home: what the app teaches and the order to walk through it."""

import streamlit as st

from explainer.checkpoint import CheckpointError
from explainer.lesson import LESSON_MINUTES, lesson_stops
from explainer.model import count_parameters
from explainer.ui import SECTIONS, current_model, ensure_navigation, language, lesson_sections, runtime_device, tr
from explainer.ui.address import with_language
from explainer.ui.lesson_view import present_lesson_button

ensure_navigation()

st.title(tr("home.title"))
st.markdown(tr("home.intro"))

try:
    shared = current_model()
except CheckpointError:
    shared = None  # the sidebar already says why
if shared is not None:
    meta = shared.meta
    cols = st.columns(4)
    cols[0].metric(tr("home.metric.model"), tr(f"model.kind.{meta.model.kind}"))
    cols[1].metric(tr("home.metric.parameters"), f"{count_parameters(shared.model):,}")
    accuracy = "—" if meta.test_accuracy is None else f"{meta.test_accuracy:.1%}"
    cols[2].metric(tr("home.metric.accuracy"), accuracy, help=tr("home.metric.accuracy_help", dataset=tr(f"dataset.{meta.dataset}")))
    device = runtime_device()
    cols[3].metric(tr("home.metric.device"), tr("sidebar.device_gpu") if device.type in ("cuda", "mps") else tr("sidebar.device_cpu"))

st.header(tr("lesson.title", minutes=LESSON_MINUTES))
st.markdown(tr("lesson.intro"))
present_lesson_button()
pages = {page.path: page for section in SECTIONS for page in section.pages}
lang = language()
for number, stop in enumerate(lesson_stops(set(pages)), start=1):
    page = pages[stop.page]
    with st.container(border=True):
        head, link = st.columns([3, 1], vertical_alignment="center")
        head.subheader(tr("lesson.stop_title", n=number, start=stop.start, end=stop.end, title=tr(f"lesson.{stop.key}.title")))
        link.page_link(page.path, label=tr("lesson.open"), icon=page.icon, width="stretch",
                       query_params=with_language(stop.params, lang))
        st.markdown(tr("lesson.show", text=tr(f"lesson.{stop.key}.show")))
        st.markdown(tr("lesson.ask", text=tr(f"lesson.{stop.key}.ask")))
        with st.expander(tr("lesson.reveal_label"), icon=":material/visibility:"):
            st.markdown(tr(f"lesson.{stop.key}.reveal"))

st.header(tr("home.path.title"))
st.markdown(tr("home.path.intro"))
for number, section in enumerate(lesson_sections(), start=1):
    st.subheader(f"{number}. {tr(f'nav.section.{section.key}')}")
    st.markdown(tr(f"home.section.{section.key}"))
    for page in section.pages:
        st.page_link(page.path, label=tr(page.title_key), icon=page.icon)
        st.caption(tr(page.summary_key))

st.header(tr("home.pipeline.title"))
st.markdown(tr("home.pipeline.text"))
st.code(
    "for x, y in train_loader:\n"
    "    optimizer.zero_grad()          # 1\n"
    "    logits = model(x)              # 2  forward\n"
    "    loss = criterion(logits, y)    # 3  CrossEntropyLoss = softmax + NLL\n"
    "    loss.backward()                # 4  backward\n"
    "    optimizer.step()               # 5  w ← w − η·∂L/∂w",
    language="python",
)
st.caption(tr("home.offline"))
