"""The run store on SQLite and on a real PostgreSQL server: desks, runs, bounds, 30 writers at once, hostile input."""

from __future__ import annotations

import json
import os
import threading

import pytest

from explainer.store import Limits, NewRun, RunStore, StoreError, clean_name, is_token
from tests.postgres import fresh_database, postgres_server


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        if url is None and os.environ.get("EXPLAINER_REQUIRE_POSTGRES") == "1":
            raise RuntimeError("EXPLAINER_REQUIRE_POSTGRES=1 but no PostgreSQL server could be started")
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path, postgres_url):
    if request.param == "postgres":
        if postgres_url is None:
            pytest.skip("PostgreSQL is not installed here (initdb not found); CI runs these with EXPLAINER_REQUIRE_POSTGRES=1")
        s = RunStore(fresh_database(postgres_url), folder=tmp_path, limits=Limits(runs_per_desk=5, desk_mb=1, total_mb=3))
    else:
        s = RunStore(folder=tmp_path, limits=Limits(runs_per_desk=5, desk_mb=1, total_mb=3))
    yield s
    s.close()


def new_run(name="run", accuracy=0.9, **kw) -> NewRun:
    return NewRun(name=name, kind="simplecnn", model={"kind": "simplecnn", "channels": [8, 16]},
                  settings={"optimizer": "adam", "lr": 0.01, "batch_size": 32, "epochs": 3},
                  history=[{"epoch": 1, "test_accuracy": accuracy}], test_accuracy=accuracy, seconds=1.5, **kw)


def test_a_desk_saves_runs_and_its_choice_and_only_its_key_writes(store):
    desk, key = store.new_desk("Ada")
    assert is_token(desk) and is_token(key) and desk != key
    saved, evicted = store.save_run(desk, key, new_run("first"), b"weights-1", snapshots=b'{"snapshots": []}')
    assert evicted == [] and saved.name == "first" and saved.size == len(b"weights-1") + 17 and saved.has_snapshots
    assert store.checkpoint(saved.id) == b"weights-1" and store.snapshots(saved.id) == b'{"snapshots": []}'
    store.choose(desk, key, saved.id)
    assert store.desk(desk).chosen == saved.id and store.run(saved.id).pinned
    assert [r.id for r in store.runs(desk)] == [saved.id] and store.runs(desk)[0].history[0]["test_accuracy"] == 0.9
    other, other_key = store.new_desk()
    assert not store.owns(desk, other_key) and store.owns(desk, key) and not store.owns(desk, None)
    with pytest.raises(StoreError, match="belongs to someone else"):
        store.save_run(desk, other_key, new_run(), b"x")
    with pytest.raises(StoreError, match="belongs to someone else"):
        store.delete_run(saved.id, other, other_key)
    assert [r.id for r, name in store.board()] == [saved.id] and store.board()[0][1] == "Ada"


def test_the_oldest_unpinned_runs_go_first_past_the_bounds(store):
    desk, key = store.new_desk()
    first, _ = store.save_run(desk, key, new_run("keep me"), b"a")
    store.choose(desk, key, first.id)  # the chosen run is pinned
    names = [store.save_run(desk, key, new_run(f"run {i}"), b"b")[1] for i in range(6)]
    assert names[:4] == [[], [], [], []] and names[4] == ["run 0"] and names[5] == ["run 1"]
    assert len(store.runs(desk)) == 5 and first.id in {r.id for r in store.runs(desk)}
    big, _ = store.save_run(desk, key, new_run("big"), b"x" * 999_999)  # the desk's megabyte: the older ones make room
    assert {r.name for r in store.runs(desk)} == {"keep me", "big"}
    with pytest.raises(StoreError, match="more than a desk may keep"):
        store.save_run(desk, key, new_run("huge"), b"x" * 1_100_000)
    assert store.total_bytes() == 1 + 999_999


def test_thirty_students_saving_at_once_lose_nothing(store):
    desks = [store.new_desk(f"desk {i}") for i in range(30)]
    errors = []

    def save(desk_key):
        try:
            store.save_run(*desk_key, new_run("mine"), os.urandom(2000))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(dk,)) for dk in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.board()) == 30 and {name for _, name in store.board()} == {f"desk {i}" for i in range(30)}


def test_hostile_names_ids_and_the_teacher_clearing(store):
    desk, key = store.new_desk("<script>alert(1)</script>\n\x00" + "x" * 10_000)
    assert store.desk(desk).name.startswith("<script>alert(1)</script>") and len(store.desk(desk).name) == 80
    saved, _ = store.save_run(desk, key, new_run("a\u202eb\tc " * 5000), b"w")
    assert len(saved.name) <= 80 and "\t" not in saved.name and "\u202e" not in saved.name
    assert store.desk(None) is None and not store.owns(None, key)
    for bad in ("", "../../etc/passwd", "' OR 1=1 --", "x" * 500, "A" * 22):
        assert store.desk(bad) is None and store.runs(bad) == [] and not store.owns(bad, key)
        with pytest.raises(StoreError):
            store.run(bad)
    assert store.clear() == 1 and store.board() == [] and store.desk(desk) is not None


def test_clean_name():
    assert clean_name("  two\n\nlines\t ") == "two lines" and clean_name("", "run") == "run"
    assert clean_name("学生 <b>") == "学生 <b>"  # kept as text: shown escaped, never as HTML


def test_a_missing_checkpoint_file_is_a_clear_message_and_the_rest_works(tmp_path):
    store = RunStore(folder=tmp_path)
    desk, key = store.new_desk()
    a, _ = store.save_run(desk, key, new_run("a"), b"A")
    b, _ = store.save_run(desk, key, new_run("b"), b"B")
    (tmp_path / "runs" / f"{a.id}.safetensors").unlink()
    with pytest.raises(StoreError, match="“a” is missing"):
        store.checkpoint(a.id)
    assert store.checkpoint(b.id) == b"B"


def test_a_database_file_replaced_by_garbage_is_a_clear_message(tmp_path):
    (tmp_path / "runs.sqlite3").write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match="damaged"):
        RunStore(folder=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_is_a_clear_message(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(StoreError):
            RunStore(folder=tmp_path)
    finally:
        tmp_path.chmod(0o755)


def test_a_restarted_server_finds_every_run(tmp_path):
    store = RunStore(folder=tmp_path)
    desk, key = store.new_desk("Ada")
    saved, _ = store.save_run(desk, key, new_run("kept"), b"w")
    store.choose(desk, key, saved.id)
    store.close()
    again = RunStore(folder=tmp_path)  # a new process opening the same folder
    assert [r.name for r in again.runs(desk)] == ["kept"] and again.desk(desk).chosen == saved.id
    assert again.owns(desk, key) and again.checkpoint(saved.id) == b"w"
