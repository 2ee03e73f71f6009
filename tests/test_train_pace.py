"""Training a class can watch: pause, step and resume give the same model; snapshots are bounded and faithful."""

import time

import numpy as np
import pytest
import torch

from explainer.jobs import DONE, PAUSED, STOPPED, JobRunner, TrainingJob
from explainer.model import ModelConfig
from explainer.snapshots import Probe, Replay, default_watch, take
from explainer.train import StepDetail, TrainConfig, Trainer, train

SMALL = dict(train_limit=300, test_limit=200, batch_size=50, epochs=2, seed=3)


def wait_for(job, states, timeout=60):
    deadline = time.monotonic() + timeout
    while job.state not in states and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.state in states, f"job {job.id} is {job.state}, not {states}"
    return job


def one_thread(fn):
    """Run ``fn`` with one PyTorch thread, as the workers train (float sums depend on the split)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_pausing_stepping_and_resuming_gives_the_same_weights_as_never_pausing(mnist5k, optimizer):
    config = TrainConfig(optimizer=optimizer, **SMALL)
    straight = one_thread(lambda: train(ModelConfig(), mnist5k, config, device="cpu"))
    runner = JobRunner(1)
    job = runner.submit(TrainingJob(ModelConfig(), config, mnist5k, threads=1, pace="step"))
    wait_for(job, {PAUSED})
    for _ in range(3):  # three batches by hand
        job.step_once()
        wait_for(job, {PAUSED})
    assert job.snapshot().steps_done == 3 and isinstance(job.snapshot().detail, StepDetail)
    job.set_pace("full")
    job.resume()
    time.sleep(0.05)
    job.pause()  # somewhere in the middle (or already at the end)
    wait_for(job, {PAUSED, DONE})
    job.resume()
    wait_for(job, {DONE})
    assert job.snapshot().batch_losses == tuple(straight.batch_losses)
    assert same_weights(job.result.model, straight.model)
    assert [h.test_accuracy for h in job.snapshot().history] == [h.test_accuracy for h in straight.history]


def test_a_stepped_batch_shows_its_digits_losses_and_one_weight_update(mnist5k):
    config = TrainConfig(optimizer="sgd", schedule="constant", lr=0.1, **SMALL)
    trainer = Trainer(ModelConfig(), mnist5k, config, device="cpu")
    before = trainer.model.conv1.weight.detach().clone()
    detail = trainer.step(("conv1.weight", 4), detail=True)
    assert len(detail.indices) == 50 and len(detail.labels) == 50 and len(detail.predicted_before) == 50
    assert detail.labels == tuple(mnist5k.train_labels[list(detail.indices)].tolist())
    w = detail.weight
    assert w.name == "conv1.weight[0, 0, 1, 1]" and w.before == pytest.approx(float(before[0, 0, 1, 1]))
    assert w.after == pytest.approx(w.sgd_after, abs=1e-7)  # plain SGD: w ← w − η·∇w exactly
    assert w.after == pytest.approx(float(trainer.model.conv1.weight.detach()[0, 0, 1, 1]))
    assert detail.loss_before != detail.loss_after and np.isfinite(detail.loss_after)
    # a step by hand changes nothing in the run: the next batches match an ordinary run's
    other = Trainer(ModelConfig(), mnist5k, config, device="cpu")
    other.step()
    assert same_weights(trainer.model, other.model)


def test_stopping_a_paused_run_ends_it_with_its_partial_epoch_tested(mnist5k):
    job = JobRunner(1).submit(TrainingJob(ModelConfig(kind="mlp"), TrainConfig(**SMALL), mnist5k, threads=1, pace="step"))
    wait_for(job, {PAUSED})
    job.step_once()
    wait_for(job, {PAUSED})
    job.stop()
    assert job.state == STOPPED and len(job.snapshot().history) == 1 and job.result.stopped
    assert job.result.model is not None


def test_the_watch_pace_waits_between_batches_and_a_pause_wakes_it(mnist5k):
    job = JobRunner(1).submit(TrainingJob(ModelConfig(kind="softmax"), TrainConfig(**SMALL), mnist5k, threads=1,
                                          pace="watch", delay=0.2))
    wait_for(job, {"running"})
    time.sleep(0.5)
    steps = job.snapshot().steps_done
    assert 1 <= steps <= 5  # about one batch per 0.2 s, not the whole run
    job.pause()
    wait_for(job, {PAUSED}, timeout=2)
    job.set_pace("full")
    job.resume()
    wait_for(job, {DONE})
    snap = job.snapshot()
    assert snap.steps_done == 12 and snap.seconds < 5  # the waits are not counted as training time


def test_the_replay_keeps_at_most_its_limit_spread_over_the_run():
    replay = Replay(limit=10)
    proto = dict(epoch=1, batch=0, loss=1.0, lr=0.1, weights_kind="kernels", weights=np.zeros((1, 3, 3), np.float16),
                 maps=None, probs=np.zeros((8, 10), np.float16), confusion=np.zeros((10, 10), np.int32), accuracy=0.1)
    from explainer.snapshots import Snapshot

    for step in range(0, 200):
        if replay.due(step):
            replay.add(Snapshot(step=step, **proto))
    steps = [s.step for s in replay.snapshots()]
    assert len(steps) <= 10 and steps[0] == 0 and steps == sorted(steps)
    assert steps[-1] >= 200 - 2 * replay.every  # the newest stays
    gaps = np.diff(steps)
    assert gaps.max() <= 2 * gaps.min() + replay.every  # spread evenly, not bunched at the start
    assert replay.at(-5).step == 0 and replay.at(10_000).step == steps[-1]
    assert replay.at(steps[3] + 1).step == steps[3]


def test_the_replay_at_batch_k_shows_the_kernels_the_model_had_at_batch_k(mnist5k):
    config = TrainConfig(**SMALL)
    job = JobRunner(1).submit(TrainingJob(ModelConfig(), config, mnist5k, threads=1, pace="watch", delay=0.05))
    wait_for(job, {DONE})
    snaps = job.replay.snapshots()
    assert snaps[0].step == 0 and snaps[-1].step == 12 and len(snaps) >= 10
    for snap in (snaps[0], snaps[5], snaps[-1]):
        trainer = Trainer(ModelConfig(), mnist5k, config, device="cpu")
        for _ in range(snap.step):
            trainer.step()
        kernels = trainer.model.conv1.weight.detach()[:, 0].numpy()
        np.testing.assert_allclose(snap.weights.astype(np.float32), kernels, atol=2e-3, rtol=1e-3)
    # the confusion matrix of the last snapshot is the test evaluation of the trained model
    assert snaps[-1].confusion.sum() == 200 and snaps[-1].accuracy == pytest.approx(job.result.test_accuracy)


def test_a_snapshot_is_small_and_draws_the_first_layer_of_every_kind(mnist5k):
    from explainer.model import build_model

    probe = Probe.make(mnist5k, "cpu", digit=7)
    assert probe.watch_labels == tuple(range(8)) and probe.watch == default_watch(mnist5k.test_labels)
    for kind, weights_kind, shape in (("simplecnn", "kernels", (8, 3, 3)), ("mlp", "units", (16, 28, 28)),
                                      ("softmax", "templates", (10, 28, 28))):
        model = build_model(ModelConfig(kind), seed=0)
        snap = take(model, probe, 0, 1, 0, None, 0.1)
        assert snap.weights_kind == weights_kind and snap.weights.shape == shape
        assert (snap.maps is None) == (kind != "simplecnn")
        np.testing.assert_allclose(snap.probs.astype(np.float32).sum(1), 1, atol=5e-3)
        assert snap.confusion.sum() == 1000 and snap.nbytes < 30_000
        d = snap.to_dict(pooled=2)
        assert d["weights"]["shape"] == ([8, 3, 3] if kind == "simplecnn" else [len(snap.weights), 14, 14])
    model = build_model(ModelConfig(), seed=0).eval()
    with torch.no_grad():
        expected = torch.relu(model.conv1(probe.x_digit))[0].numpy()
    np.testing.assert_allclose(take(model, probe, 0, 1, 0, None, 0.1).maps.astype(np.float32), expected, atol=2e-3, rtol=1e-3)
