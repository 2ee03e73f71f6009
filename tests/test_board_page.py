"""The class board through AppTest: every saved run on the chart and in the table, a filter, opening a run, the teacher's clear."""

from __future__ import annotations

import pytest

from explainer.paths import shipped_checkpoint
from explainer.store import NewRun
from explainer.ui.desk import run_store, store_problem
from tests.apptest import ok, open_page


@pytest.fixture()
def store():
    s = run_store()  # the app's own store, made once per process (where the first page run put it)
    assert s is not None, store_problem()
    s.clear()
    yield s
    s.clear()


def saved(store, desk_name: str, kind: str, accuracy: float) -> str:
    desk, key = store.new_desk(desk_name)
    data = shipped_checkpoint(kind).read_bytes()
    run, _ = store.save_run(desk, key, NewRun(name=f"{kind} run", kind=kind, model={"kind": kind},
                                              settings={"optimizer": "sgd", "lr": 0.1, "batch_size": 256, "epochs": 10},
                                              history=[{"epoch": 1, "loss": 1.0, "accuracy": 0.5, "test_loss": 1.0,
                                                        "test_accuracy": accuracy, "seconds": 1.0}],
                                              test_accuracy=accuracy, seconds=3.0), data)
    return run.id


def test_every_run_of_the_class_is_on_the_board_best_first_and_can_be_filtered(store):
    saved(store, "Ada", "softmax", 0.9)
    saved(store, "<b>Bob</b>", "simplecnn", 0.98)
    saved(store, "Cy", "mlp", 0.94)
    at = open_page("pages/board.py")
    frame = at.dataframe[0].value
    assert list(frame["desk"]) == ["<b>Bob</b>", "Cy", "Ada"]  # the best first; names as text
    assert list(frame["accuracy_pct"]) == pytest.approx([98.0, 94.0, 90.0])
    assert any("board_chart" in c.proto.id for c in at.get("plotly_chart"))
    ok(at.button_group(key="board_kinds").set_value(["mlp", "softmax"]).run())
    assert list(at.dataframe[0].value["desk"]) == ["Cy", "Ada"]


def test_any_run_opens_as_the_model_of_every_page(store):
    run_id = saved(store, "Ada", "mlp", 0.94)
    at = open_page("pages/board.py")
    assert at.selectbox(key="board_pick").value == run_id
    ok(at.button(key="board_open").click().run())
    assert at.selectbox(key="model").value == "session" and "is now the model every page uses" in at.success[0].value
    at.switch_page("pages/forward.py").run()
    ok(at)
    assert "fc2" in at.select_slider(key="fwd_step").options and "conv1" not in at.select_slider(key="fwd_step").options


def test_the_teacher_clears_the_board_only_with_the_code(store, monkeypatch):
    saved(store, "Ada", "softmax", 0.9)
    at = open_page("pages/board.py")
    assert "board_code" not in [w.key for w in at.text_input]  # without a teacher code set, no clear button either
    monkeypatch.setenv("EXPLAINER_TEACHER_CODE", "owl")
    ok(at.run())
    ok(at.text_input(key="board_code").input("cat").run())
    ok(at.button(key="board_clear").click().run())
    assert "not the teacher code" in at.error[0].value and len(store.board()) == 1
    ok(at.text_input(key="board_code").input("owl").run())
    ok(at.button(key="board_clear").click().run())
    assert "The board is empty (1 removed)" in at.success[0].value and store.board() == []
    assert "No saved runs yet" in at.info[0].value


def test_a_link_to_a_desk_shows_only_its_runs_read_only_and_a_bad_desk_id_shows_the_board(store):
    saved(store, "Ada", "softmax", 0.9)
    bob = saved(store, "[Bob](https://evil.example)", "mlp", 0.94)
    desk = store.run(bob).desk
    at = open_page("pages/board.py", params={"desk": desk})
    assert list(at.dataframe[0].value["desk"]) == ["[Bob](https://evil.example)"]
    info = at.info[0].value
    assert "read-only" in info and r"\[Bob\]\(https\://evil\.example\)" in info  # the name as text, not a link
    for bad in ("x" * 30, "../../etc/passwd", "<script>"):
        at = open_page("pages/board.py", params={"desk": bad})
        ok(at)
        assert len(at.dataframe[0].value) == 2 and not at.info
