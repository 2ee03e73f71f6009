"""A headless client of Streamlit's own websocket protocol: a student's tab without a browser.

A browser tab talks to ``streamlit run`` over one websocket (``/_stcore/stream``): it sends
``BackMsg(rerun_script=ClientState(...))`` — the page, the query string and the value of
every widget it shows — and the server answers with ``ForwardMsg``s (``new_session``, one
``delta`` per element, ``page_info_changed``, ``auto_rerun`` ...) up to ``script_finished``.
:class:`StreamlitClient` speaks that protocol from Python, so a load test can open dozens
of sessions on a small machine where dozens of browsers would not fit:

    with StreamlitClient(port) as tab:
        tab.open("convolution")
        tab.click("conv_step_next")                 # a button, by the key it was made with
        assert "Step 2 of 9" in tab.text()
        tab.set_value("fwd_step", "conv1")          # a select_slider, by its shown label
        tab.wait_for(lambda t: t.has_widget("train_use_1"), timeout=120)  # drives run_every fragments

What it does as a browser does:

- it keeps the value of every widget of the page (the server's ``set_value`` wins, as it
  does in the browser) and sends them all with each rerun; a button press is a one-off
  ``trigger_value``; widgets that a finished full run no longer drew are forgotten;
- the values are encoded as the server expects them in Streamlit 1.67: sliders as
  ``double_array_value``; select_slider as ``string_array_value`` and selectbox / radio as
  ``string_value`` of the *formatted* option; number_input as ``int_value`` or
  ``double_value`` after its data type; checkbox ``bool_value``; text ``string_value``;
- it sends back the query string the app wrote (``page_info_changed``);
- a widget drawn inside an ``@st.fragment`` reruns only that fragment (its ``fragment_id``
  goes with the request), as a click in the browser does;
- it emulates the browser's timers for ``@st.fragment(run_every=...)``: ``auto_rerun``
  messages register a fragment and its interval, a full run clears them, and
  :meth:`wait_for` sends ``rerun_script(fragment_id=..., is_auto_rerun=True)`` on time
  while it waits.

It does not draw anything, upload files, edit data editors or run custom components.
Each request's latency — from sending it to the ``script_finished`` of its run — is kept in
:attr:`StreamlitClient.history` together with what the run showed that went wrong.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import ClientConnection, connect

FINAL = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "ok",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "ok",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile_error",
}
VALUE_WIDGETS = {"slider", "selectbox", "radio", "number_input", "checkbox", "text_input", "text_area"}
TRIGGER_WIDGETS = {"button"}


class RunTimeout(TimeoutError):
    """The server did not finish a run (or a wait) in time."""


@dataclass
class RunResult:
    """One request and the run it started, as the client saw it."""

    kind: str  # "open", "navigate", "click", "set", "rerun" or "auto" (a fragment's timer)
    target: str  # the page, widget key or fragment id
    seconds: float  # from sending the request to the run's script_finished
    status: str = "ok"  # "ok" or "compile_error"
    exceptions: list[str] = field(default_factory=list)  # exception elements the run showed
    page_not_found: bool = False
    sent_at: float = 0.0  # time.perf_counter() when the request was sent
    fragments: tuple[str, ...] = ()  # the fragments the server reran; () for a run of the whole page


@dataclass
class Widget:
    """A widget of the current page: its element kind (``"button"``, ``"slider"`` ...) and proto."""

    kind: str
    proto: Any
    fragment: str = ""  # the fragment that drew it ("" for the page): a change reruns only that part, as in a browser

    @property
    def options(self) -> list[str]:
        """The shown labels of an option widget (select_slider, selectbox, radio)."""
        return list(getattr(self.proto, "options", []))

    @property
    def disabled(self) -> bool:
        return bool(getattr(self.proto, "disabled", False))


def user_key(element_id: str) -> str | None:
    """The ``key=`` a widget was created with: its id is ``$$ID-<hash>-<key>``."""
    parts = element_id.split("-", 2)
    if len(parts) == 3 and parts[0] == "$$ID" and parts[2] != "None":
        return parts[2]
    return None


class StreamlitClient:
    """One session of a running app, driven over its websocket (see the module docstring).

    ``server`` is the app's port or URL (``http://127.0.0.1:8501``); ``timeout`` bounds each
    run in seconds. Methods that start a run return its :class:`RunResult` and raise
    :class:`RunTimeout` when the run does not finish in time.
    """

    def __init__(self, server: int | str, timeout: float = 60.0, sticky: bool = False) -> None:
        port = server if isinstance(server, int) else int(str(server).rstrip("/").rsplit(":", 1)[1])
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.health_url = f"http://127.0.0.1:{port}/_stcore/health"
        self.sticky = sticky  # ask the health check first and send its cookie, as a browser does (a proxy keeps us on one replica)
        self.timeout = timeout
        self.history: list[RunResult] = []
        self.page = ""  # url path of the page the app runs now
        self.query_string = ""
        self._ws: ClientConnection | None = None
        self._exit = ExitStack()
        self._elements: dict[tuple[int, ...], tuple[str, Element]] = {}  # delta path -> (fragment id, element)
        self._widgets: dict[str, WidgetState] = {}  # widget id -> the value the browser would send
        self._pages: dict[str, str] = {}  # url path -> page script hash, from the navigation message
        self._page_hash = ""
        self._timers: dict[str, list[float]] = {}  # fragment id -> [interval s, next due (monotonic)]
        self._run_exceptions: list[str] = []
        self._page_not_found = False
        self._run_fragments: tuple[str, ...] = ()

    # --- connection -------------------------------------------------------------------------------

    def connect(self) -> StreamlitClient:
        """Open the websocket as a browser does (subprotocol ``streamlit``, no pings of its own)."""
        self._exit = ExitStack()
        options = {"proxy": None} if "proxy" in inspect.signature(connect).parameters else {}  # loopback: never a proxy
        if self.sticky:
            options["additional_headers"] = {"Cookie": self._page_cookies()}
        self._ws = self._exit.enter_context(connect(self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None,
                                                    open_timeout=max(self.timeout, 10.0), **options))
        return self

    def _page_cookies(self) -> str:
        """The cookie the app sets before a browser opens its websocket (Streamlit's XSRF cookie, on the health
        check the page calls first), as one ``Cookie`` header."""
        import urllib.request

        with urllib.request.urlopen(self.health_url, timeout=max(self.timeout, 10.0)) as response:  # noqa: S310 - loopback
            found = [h.split(";", 1)[0] for h in response.headers.get_all("Set-Cookie") or []]
        return "; ".join(found)

    def close(self) -> None:
        """Close the tab: the server keeps the session for ``server.disconnectedSessionTTL`` seconds."""
        if self._ws is not None:
            self._ws = None
            self._exit.close()

    def __enter__(self) -> StreamlitClient:
        return self.connect() if self._ws is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- actions ----------------------------------------------------------------------------------

    def open(self, page: str = "", query_string: str = "") -> RunResult:
        """The first run of a tab, as when a browser opens ``/<page>?<query_string>``."""
        if self._ws is None:
            self.connect()
        self.query_string = query_string
        return self._request("open", page or "home", page_name=page, page_hash="")

    def navigate(self, page: str, query_string: str = "") -> RunResult:
        """Go to another page (its url path, e.g. ``"forward"``), as a click in the menu does."""
        self.query_string = query_string
        return self._request("navigate", page, page_name=page, page_hash=self._pages.get(page, ""))

    def rerun(self) -> RunResult:
        """Run the current page again with the current widget values."""
        return self._request("rerun", self.page)

    def click(self, key: str) -> RunResult:
        """Press the button made with ``key=key``."""
        widget = self.widget(key)
        if widget.kind not in TRIGGER_WIDGETS:
            raise ValueError(f"{key!r} is a {widget.kind}, not a button")
        if widget.disabled:
            raise ValueError(f"the button {key!r} is disabled")
        trigger = WidgetState(id=widget.proto.id, trigger_value=True)
        return self._request("click", key, fragment_id=widget.fragment, extra=(trigger,))

    def set_value(self, key: str, value: Any) -> RunResult:
        """Give widget ``key`` a new value and run, as moving or typing in it does.

        Sliders take a number (or a pair); select_slider, selectbox and radio take the label
        the student sees (see :meth:`options`); number_input a number; checkbox a bool.
        """
        widget = self.widget(key)
        if widget.disabled:
            raise ValueError(f"the widget {key!r} is disabled")
        self._widgets[widget.proto.id] = encode(widget, value)
        return self._request("set", key, fragment_id=widget.fragment)

    def wait_for(self, predicate: Callable[[StreamlitClient], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds, firing the page's ``run_every`` fragments on time.

        Returns False when ``timeout`` seconds pass first. With no fragment timer running
        nothing can change, and it returns False at once.
        """
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if not self._timers:
                return False
            fragment, (interval, due) = min(self._timers.items(), key=lambda item: item[1][1])
            now = time.monotonic()
            if due >= deadline:
                return False
            if due > now:
                time.sleep(due - now)
            self._timers[fragment][1] = max(due + interval, time.monotonic())
            self._request("auto", fragment, fragment_id=fragment)
        return True

    # --- what the page shows ----------------------------------------------------------------------

    def elements(self, kind: str | None = None) -> list[Element]:
        """The elements the page shows now, in page order (sidebar last), optionally of one kind."""
        shown = [element for _, (_, element) in sorted(self._elements.items())]
        return [e for e in shown if kind is None or e.WhichOneof("type") == kind]

    def widgets(self) -> dict[str, Widget]:
        """Every keyed widget on the page, by key."""
        found = {}
        for _, (fragment, element) in sorted(self._elements.items()):
            kind = element.WhichOneof("type")
            key = user_key(getattr(getattr(element, kind), "id", "") or "")
            if key is not None:
                found[key] = Widget(kind, getattr(element, kind), fragment)
        return found

    def widget(self, key: str) -> Widget:
        try:
            return self.widgets()[key]
        except KeyError:
            raise KeyError(f"no widget with key {key!r} on the page {self.page!r}") from None

    @property
    def pages(self) -> list[str]:
        """The url paths of the app's pages, from its navigation (known after the first run)."""
        return list(self._pages)

    @property
    def timers(self) -> dict[str, float]:
        """The page's fragment timers now: fragment id -> interval in seconds."""
        return {fragment: interval for fragment, (interval, _) in self._timers.items()}

    def has_widget(self, key: str) -> bool:
        return key in self.widgets()

    def options(self, key: str) -> list[str]:
        return self.widget(key).options

    def value(self, key: str) -> Any:
        """The value the client holds for widget ``key`` (what it sends with the next run)."""
        state = self._widgets.get(self.widget(key).proto.id)
        if state is None:
            return None
        field_name = state.WhichOneof("value")
        value = getattr(state, field_name)
        return list(value.data) if hasattr(value, "data") else value

    def markdown(self) -> list[str]:
        """Markdown and caption texts, headings included."""
        return [e.markdown.body for e in self.elements("markdown")] + [e.heading.body for e in self.elements("heading")]

    def alerts(self) -> list[str]:
        """Texts of st.error / st.warning / st.info / st.success boxes."""
        return [e.alert.body for e in self.elements("alert")]

    def metrics(self) -> dict[str, str]:
        return {e.metric.label: e.metric.body for e in self.elements("metric")}

    def exceptions(self) -> list[str]:
        """Exceptions the page shows (a traceback in the browser); an app should show none."""
        return [f"{e.exception.type}: {e.exception.message}" for e in self.elements("exception")]

    def text(self) -> str:
        """Everything readable on the page in one string, for ``in`` checks."""
        parts = self.markdown() + self.alerts() + [f"{k} {v}" for k, v in self.metrics().items()]
        parts += [e.text.body for e in self.elements("text")] + [e.code.code_text for e in self.elements("code")]
        parts += [e.progress.text for e in self.elements("progress")]
        return "\n".join(parts)

    # --- the protocol -----------------------------------------------------------------------------

    def _request(self, kind: str, target: str, page_name: str | None = None, page_hash: str | None = None,
                 fragment_id: str = "", extra: tuple[WidgetState, ...] = ()) -> RunResult:
        if self._ws is None:
            raise RuntimeError("not connected")
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_name = self.page if page_name is None else page_name
        state.page_script_hash = self._page_hash if page_hash is None else page_hash
        if fragment_id:  # a fragment's timer, or a widget inside a fragment: only that part reruns
            state.fragment_id = fragment_id
            state.is_auto_rerun = kind == "auto"
        triggers = {w.id for w in extra}
        state.widget_states.widgets.extend([w for i, w in self._widgets.items() if i not in triggers] + list(extra))
        self._run_exceptions, self._page_not_found, self._run_fragments = [], False, ()
        started = time.perf_counter()
        self._ws.send(msg.SerializeToString())
        status = self._read_until_finished(f"{kind} {target}")
        result = RunResult(kind, target, time.perf_counter() - started, status, self._run_exceptions, self._page_not_found,
                           started, self._run_fragments)
        self.history.append(result)
        return result

    def _read_until_finished(self, what: str) -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunTimeout(f"no script_finished within {self.timeout:.0f} s after {what}")
            try:
                raw = self._ws.recv(timeout=remaining)
            except TimeoutError:
                raise RunTimeout(f"no script_finished within {self.timeout:.0f} s after {what}") from None
            msg = ForwardMsg.FromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "script_finished" and msg.script_finished in FINAL:
                if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    self._forget_inactive_widgets()
                return FINAL[msg.script_finished]
            self._handle(msg, kind)

    def _handle(self, msg: ForwardMsg, kind: str) -> None:
        if kind == "new_session":
            fragments = set(msg.metadata.run.fragment_ids)
            self._run_fragments = tuple(sorted(fragments))
            if fragments:  # a fragment's run redraws only that fragment
                self._elements = {p: v for p, v in self._elements.items() if v[0] not in fragments}
            else:  # a full run redraws the page and registers its timers again
                self._elements.clear()
                self._timers.clear()
        elif kind == "delta":
            delta = msg.delta
            if delta.WhichOneof("type") == "new_element":
                self._add_element(tuple(msg.metadata.delta_path), delta.fragment_id, delta.new_element)
        elif kind == "navigation":
            self._pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self._page_hash = msg.navigation.page_script_hash
            self.page = next((p for p, h in self._pages.items() if h == self._page_hash), self.page)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            self._page_not_found = True
        elif kind == "auto_rerun":
            interval = max(float(msg.auto_rerun.interval), 0.05)
            self._timers[msg.auto_rerun.fragment_id] = [interval, time.monotonic() + interval]
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._timers.pop(fragment, None)
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            error = msg.session_event.script_compilation_exception
            self._run_exceptions.append(f"{error.type}: {error.message}")

    def _add_element(self, path: tuple[int, ...], fragment: str, element: Element) -> None:
        self._elements[path] = (fragment, element)
        kind = element.WhichOneof("type")
        if kind == "exception":
            self._run_exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind in VALUE_WIDGETS:
            proto = getattr(element, kind)
            if proto.set_value or proto.id not in self._widgets:
                state = initial_state(kind, proto)
                if state is not None:
                    self._widgets[proto.id] = state

    def _forget_inactive_widgets(self) -> None:
        shown = set()
        for _, element in self._elements.values():
            kind = element.WhichOneof("type")
            if kind in VALUE_WIDGETS:
                shown.add(getattr(element, kind).id)
        self._widgets = {i: s for i, s in self._widgets.items() if i in shown}


# --- widget values as the browser encodes them ---------------------------------------------------


def initial_state(kind: str, proto: Any) -> WidgetState | None:
    """The value a browser holds for a widget it has just drawn: the server's, else the default."""
    state = WidgetState(id=proto.id)
    if kind == "slider":
        if proto.type == Slider.SELECT_SLIDER:
            labels = list(proto.raw_value) if proto.set_value else [proto.options[int(i)] for i in proto.default]
            state.string_array_value.data.extend(labels)
        else:
            state.double_array_value.data.extend(list(proto.value) if proto.set_value else list(proto.default))
    elif kind in ("selectbox", "radio"):
        if proto.set_value and proto.HasField("raw_value"):
            state.string_value = proto.raw_value
        elif proto.HasField("default") and 0 <= proto.default < len(proto.options):
            state.string_value = proto.options[proto.default]
        else:
            return None  # nothing chosen yet: the browser sends no value either
    elif kind == "number_input":
        if proto.set_value and proto.HasField("value"):
            number = proto.value
        elif proto.HasField("default"):
            number = proto.default
        else:
            return None
        if proto.data_type == NumberInput.INT:
            state.int_value = int(number)
        else:
            state.double_value = float(number)
    elif kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    elif kind in ("text_input", "text_area"):
        if proto.set_value and proto.HasField("value"):
            state.string_value = proto.value
        elif proto.HasField("default"):
            state.string_value = proto.default
        else:
            return None
    else:
        return None
    return state


def encode(widget: Widget, value: Any) -> WidgetState:
    """A new value for ``widget`` as the browser sends it (see the module docstring)."""
    proto, state = widget.proto, WidgetState(id=widget.proto.id)
    if widget.kind == "slider":
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if proto.type == Slider.SELECT_SLIDER:
            labels = [str(v) for v in values]
            unknown = [label for label in labels if label not in proto.options]
            if unknown:
                raise ValueError(f"{unknown} not among the options {list(proto.options)}")
            state.string_array_value.data.extend(labels)
        else:
            state.double_array_value.data.extend(float(v) for v in values)
    elif widget.kind in ("selectbox", "radio"):
        if str(value) not in proto.options and not getattr(proto, "accept_new_options", False):
            raise ValueError(f"{value!r} not among the options {list(proto.options)}")
        state.string_value = str(value)
    elif widget.kind == "number_input":
        if proto.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
    elif widget.kind == "checkbox":
        state.bool_value = bool(value)
    elif widget.kind in ("text_input", "text_area"):
        state.string_value = str(value)
    else:
        raise ValueError(f"setting a {widget.kind} is not supported")
    return state
