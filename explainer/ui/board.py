"""What the class board does: its rows from the run store, naming a desk, opening a run as the model, clearing."""

from __future__ import annotations

import hmac
import os
import threading
from typing import Any

import streamlit as st

from explainer.checkpoint import CheckpointError, load_checkpoint
from explainer.store import RunStore, StoreError

from .desk import as_text, own_desk, run_store
from .state import MODEL_CHOICE_KEY, SESSION_CHOICE, SESSION_MODEL_KEY, SharedModel, language, runtime_device, tr

TEACHER_CODE = "EXPLAINER_TEACHER_CODE"
NOTE_KEY = "board_note"  # ("error" | "success", sentence) for the next run: a cleared board, a run that could not open


def architecture_text(model: dict[str, Any], lang_tr=tr) -> str:  # noqa: ANN001
    """A run's model in a few words: ``SimpleCNN 8·16 k3 same relu, fc 64``, ``MLP 256 relu``, ``Softmax regression``."""
    kind = model.get("kind", "")
    name = lang_tr(f"model.kind.{kind}") if kind in ("simplecnn", "mlp", "softmax") else str(kind)
    if kind == "simplecnn":
        channels = "·".join(str(c) for c in model.get("channels", []))
        hidden = model.get("hidden", 64)
        extra = f", p={model['dropout']:g}" if model.get("dropout") else ""
        return (f"{name} {channels} k{model.get('kernel_size', 3)} {model.get('padding', 'same')} {model.get('activation', 'relu')}, "
                f"fc {hidden if hidden else '–'}{extra}")
    if kind == "mlp":
        extra = f", p={model['dropout']:g}" if model.get("dropout") else ""
        return f"MLP 784-{model.get('hidden', 256)}-10 {model.get('activation', 'relu')}{extra}"
    return name


def board_rows(store: RunStore, desk_id: str | None, lang: str) -> list[dict[str, Any]]:
    """The board's rows, newest first: every run, or one desk's."""
    if desk_id is not None:
        desk = store.desk(desk_id)
        pairs = [(r, desk.name if desk else "") for r in store.runs(desk_id)]
    else:
        pairs = store.board()
    rows = []
    # the best first: who got the highest test accuracy (the table's headers sort it any other way)
    pairs = sorted(pairs, key=lambda pair: -1 if pair[0].test_accuracy is None else pair[0].test_accuracy, reverse=True)
    for run, desk_name in pairs:
        s = run.settings
        rows.append({
            "id": run.id, "desk": desk_name or tr("desk.unnamed"), "name": run.name, "kind": run.kind,
            "model": architecture_text(run.model), "optimizer": s.get("optimizer", "—"), "lr": s.get("lr"),
            "batch": s.get("batch_size"), "epochs": s.get("epochs"), "accuracy": run.test_accuracy,
            "accuracy_pct": None if run.test_accuracy is None else 100 * run.test_accuracy, "seconds": run.seconds,
            "history": run.history,
            "settings": f"{s.get('optimizer', '—')} {s.get('lr', '')} · batch {s.get('batch_size', '—')} · "
                        f"{s.get('epochs', '—')} epochs",
        })
    return rows


def name_desk() -> None:
    """A callback: the desk's name, as the student typed it (kept as plain text)."""
    desk, store = own_desk(), run_store()
    if desk is None or store is None:
        return
    try:
        store.name_desk(desk.id, desk.key, st.session_state.get("board_name", ""))
    except StoreError as exc:
        st.session_state[NOTE_KEY] = ("error", exc.message(language()))


def open_run(run_id: str) -> None:
    """A callback: any run of the board becomes the model every page of this session uses."""
    store = run_store()
    if store is None:
        return
    try:
        run = store.run(run_id)
        checkpoint = load_checkpoint(store.checkpoint(run_id), runtime_device(), name=run.name)
    except StoreError as exc:
        st.session_state[NOTE_KEY] = ("error", exc.message(language()))
        return
    except CheckpointError as exc:
        st.session_state[NOTE_KEY] = ("error", str(exc))
        return
    st.session_state[SESSION_MODEL_KEY] = SharedModel(checkpoint, threading.Lock())
    st.session_state[MODEL_CHOICE_KEY] = SESSION_CHOICE
    st.session_state[NOTE_KEY] = ("success", tr("board.opened", name=as_text(run.name)))
    desk = own_desk()
    if desk is not None and run.desk == desk.id:
        try:
            store.choose(desk.id, desk.key, run.id)
        except StoreError:
            pass  # used for now; not remembered


def teacher_code_set() -> bool:
    return bool(os.environ.get(TEACHER_CODE))


def clear_board(code: str) -> None:
    """A callback: the teacher empties the board (every run; the desks stay), if the code is right."""
    expected, store = os.environ.get(TEACHER_CODE, ""), run_store()
    if not expected or store is None:
        return
    if not hmac.compare_digest(str(code).encode(), expected.encode()):
        st.session_state[NOTE_KEY] = ("error", tr("board.wrong_code"))
        return
    try:
        st.session_state[NOTE_KEY] = ("success", tr("board.cleared", n=store.clear()))
    except StoreError as exc:
        st.session_state[NOTE_KEY] = ("error", exc.message(language()))


def show_note() -> None:
    """The sentence a callback left for this run, once."""
    note = st.session_state.pop(NOTE_KEY, None)
    if note:
        (st.error if note[0] == "error" else st.success)(note[1], icon=":material/info:")
