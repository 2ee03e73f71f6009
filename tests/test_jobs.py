"""Background training jobs: results, the queue, stopping, failures, and no mixing between jobs."""

import threading
import time

import pytest
import torch

from explainer.evaluate import evaluation_report
from explainer.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, JobRunner, TrainingJob
from explainer.model import ModelConfig
from explainer.train import TrainConfig

SMALL = dict(train_limit=400, test_limit=200, batch_size=50)


def wait(job, timeout=60):
    deadline = time.monotonic() + timeout
    while job.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not job.active, f"job {job.id} still {job.state}"
    return job


def job(mnist5k, **kw):
    config = TrainConfig(**{"epochs": 2, **SMALL, **kw.pop("config", {})})
    return TrainingJob(kw.pop("model", ModelConfig()), config, mnist5k, threads=1, **kw)


def test_a_job_trains_and_reports_progress(mnist5k):
    runner = JobRunner(2)
    j = wait(runner.submit(job(mnist5k)))
    snap = j.snapshot()
    assert j.state == DONE and snap.progress == 1.0 and len(snap.history) == 2
    assert len(snap.batch_losses) == 2 * 8 and snap.images_per_second > 0 and snap.seconds > 0
    assert j.model is not None and not j.model.training
    assert snap.history[-1].test_accuracy == j.result.test_accuracy
    # the test report is made by the worker, on the whole test split, the same as evaluating the model afterwards
    info = mnist5k.info
    again = evaluation_report(j.model, mnist5k.test_images, mnist5k.test_labels, (info.mean, info.std))
    assert j.report == again and j.report.result.n == len(mnist5k.test_labels)


def test_two_jobs_at_once_do_not_mix(mnist5k):
    runner = JobRunner(2)
    a = runner.submit(job(mnist5k, config={"seed": 1}))
    b = runner.submit(job(mnist5k, model=ModelConfig(kind="mlp"), config={"seed": 2, "optimizer": "sgd"}))
    wait(a), wait(b)
    a2 = wait(runner.submit(job(mnist5k, config={"seed": 1})))
    b2 = wait(runner.submit(job(mnist5k, model=ModelConfig(kind="mlp"), config={"seed": 2, "optimizer": "sgd"})))
    assert a.snapshot().batch_losses == a2.snapshot().batch_losses
    assert b.snapshot().batch_losses == b2.snapshot().batch_losses
    assert a.snapshot().batch_losses != b.snapshot().batch_losses
    assert a.model.config.kind == "simplecnn" and b.model.config.kind == "mlp"
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), a2.model.state_dict().values()))


def test_the_runner_bounds_the_jobs_and_keeps_the_order(mnist5k):
    runner = JobRunner(1)
    first = runner.submit(job(mnist5k, config={"epochs": 3}))
    second = runner.submit(job(mnist5k))
    third = runner.submit(job(mnist5k))
    deadline = time.monotonic() + 30
    while first.state != RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    assert second.state == QUEUED and second.snapshot().queue_position == 1 and third.snapshot().queue_position == 2
    assert runner.running == 1
    wait(first), wait(second), wait(third)
    assert first.snapshot().seconds > 0 and [j.state for j in (first, second, third)] == [DONE] * 3
    assert runner.workers == 1  # one thread trained all three: its memory is reused, not multiplied
    wait(runner.submit(job(mnist5k, config={"epochs": 1})))
    assert runner.workers == 1


def test_stop_ends_a_run_early_and_a_queued_one_never_starts(mnist5k):
    runner = JobRunner(1)
    long = runner.submit(job(mnist5k, config={"epochs": 30}))
    waiting = runner.submit(job(mnist5k))
    while long.state != RUNNING:
        time.sleep(0.01)
    waiting.stop()
    assert waiting.state == STOPPED and waiting.snapshot().queue_position == 0  # out of the line at once
    long.stop()
    wait(long), wait(waiting)
    assert long.state == STOPPED and len(long.snapshot().history) < 30 and long.model is not None
    assert waiting.state == STOPPED and waiting.snapshot().batch_losses == ()


def test_a_closed_tab_stops_its_run(mnist5k):
    alive = threading.Event()
    alive.set()
    j = JobRunner(1).submit(job(mnist5k, config={"epochs": 30}, keep_running=alive.is_set))
    while len(j.snapshot().batch_losses) < 3:
        time.sleep(0.01)
    alive.clear()
    wait(j)
    assert j.state == STOPPED and len(j.snapshot().history) < 30


def test_an_exploding_learning_rate_fails_with_a_message(mnist5k):
    j = wait(JobRunner(1).submit(job(mnist5k, config={"optimizer": "sgd", "lr": 100.0, "schedule": "constant"})))
    assert j.state == FAILED and j.model is None
    assert j.error.key == "err.diverged" and "smaller" in j.error.render("en")
    assert "学习率" in j.error.render("zh")


def test_an_unexpected_error_is_reported_not_raised(mnist5k, monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr("explainer.jobs.Trainer", broken)
    j = wait(JobRunner(1).submit(job(mnist5k)))
    assert j.state == FAILED and "MemoryError" in j.error.render("en")


def test_runner_needs_a_slot():
    with pytest.raises(ValueError):
        JobRunner(0)
