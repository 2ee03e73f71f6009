"""Training yields the CPU: worker threads run at a lower priority than the pages (Linux, per thread)."""

import os
import sys
import threading

import pytest

from explainer.jobs import JobRunner
from explainer.priority import TRAINING_NICE, lower_this_thread, nice_from_environment
from tests.test_jobs import job, wait

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")


def own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def in_thread(target):
    found = {}
    thread = threading.Thread(target=lambda: found.setdefault("value", target()))
    thread.start()
    thread.join()
    return found["value"]


@linux
def test_a_thread_lowers_itself_and_no_other():
    main_before = own_nice()
    before, after, seen = in_thread(lambda: (own_nice(), lower_this_thread(5), own_nice()))
    assert after == seen == before + 5
    assert own_nice() == main_before  # the calling thread and the process keep theirs
    assert in_thread(own_nice) == main_before  # a new thread starts from its parent's, not from the lowered one


@linux
def test_a_thread_it_starts_inherits_the_lower_priority():
    def lowered_then_child():
        lower_this_thread(3)
        return in_thread(own_nice)

    assert in_thread(lowered_then_child) == own_nice() + 3


@linux
def test_the_value_stops_at_19_and_zero_changes_nothing():
    assert in_thread(lambda: lower_this_thread(100)) == 19
    assert in_thread(lambda: (lower_this_thread(0), own_nice())) == (None, own_nice())


def test_the_environment_sets_it(monkeypatch):
    monkeypatch.delenv("EXPLAINER_TRAIN_NICE", raising=False)
    assert nice_from_environment() == TRAINING_NICE == 10
    for value, expected in [("0", 0), ("5", 5), ("40", 19), ("-3", TRAINING_NICE), ("high", TRAINING_NICE)]:
        monkeypatch.setenv("EXPLAINER_TRAIN_NICE", value)
        assert nice_from_environment() == expected


@linux
def test_training_workers_run_below_the_pages(mnist5k):
    seen: list[int] = []

    def alive() -> bool:  # asked by the worker thread while it trains
        seen.append(own_nice())
        return True

    wait(JobRunner(1).submit(job(mnist5k, keep_running=alive)))
    assert seen and set(seen) == {own_nice() + TRAINING_NICE}
    seen.clear()
    wait(JobRunner(1, nice=0).submit(job(mnist5k, keep_running=alive)))
    assert seen and set(seen) == {own_nice()}
