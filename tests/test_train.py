import math
import threading

import pytest
import torch
from torch import nn

from explainer import optim
from explainer.evaluate import evaluate, evaluation_report, mistakes, predict
from explainer.i18n import LocalizedError, t
from explainer.model import ModelConfig, build_model
from explainer.train import DEFAULT_LR, OPTIMIZERS, TrainConfig, TrainingDiverged, make_optimizer, train

SMALL = dict(train_limit=512, test_limit=200, batch_size=64)


def test_training_reduces_the_loss_and_learns(mnist5k):
    result = train(ModelConfig(), mnist5k, TrainConfig(epochs=3, **SMALL), device="cpu")
    losses = [e.loss for e in result.history]
    assert losses[-1] < losses[0] * 0.6
    assert result.history[-1].test_accuracy > 0.7
    assert not result.model.training  # handed back in eval mode
    assert result.device == "cpu" and result.seconds > 0


@pytest.mark.parametrize("kind", ["mlp", "softmax"])
def test_baselines_train_too(mnist5k, kind):
    result = train(ModelConfig(kind=kind), mnist5k, TrainConfig(epochs=2, **SMALL), device="cpu")
    assert result.history[-1].test_accuracy > 0.6


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_with_its_default_rate_learns(mnist5k, optimizer):
    config = TrainConfig(epochs=2, optimizer=optimizer, train_limit=1024, test_limit=200, batch_size=32)
    result = train(ModelConfig(), mnist5k, config, device="cpu")
    assert result.history[-1].loss < 0.6 * math.log(10)


def test_same_seed_same_run_and_other_seed_other_run(mnist5k):
    config = TrainConfig(epochs=1, seed=3, **SMALL)
    a = train(ModelConfig(), mnist5k, config, device="cpu")
    b = train(ModelConfig(), mnist5k, config, device="cpu")
    c = train(ModelConfig(), mnist5k, TrainConfig(epochs=1, seed=4, **SMALL), device="cpu")
    assert a.batch_losses == b.batch_losses
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert a.batch_losses != c.batch_losses


def test_callbacks_report_every_batch_and_epoch(mnist5k):
    batches, epochs = [], []
    config = TrainConfig(epochs=2, train_limit=200, test_limit=50, batch_size=64)
    train(ModelConfig(), mnist5k, config, device="cpu", on_batch=batches.append, on_epoch=epochs.append)
    assert len(batches) == 2 * 4  # ceil(200 / 64) = 4 batches per epoch, the last one partial
    assert [b.batch for b in batches[:4]] == [1, 2, 3, 4] and batches[3].batches == 4
    assert batches[-1].images_seen == 400
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(0 <= e.test_accuracy <= 1 and e.images_per_second > 0 for e in epochs)


def test_stop_flag_ends_the_run_early(mnist5k):
    stop = threading.Event()

    def on_batch(p):
        if p.batch == 3:
            stop.set()

    result = train(ModelConfig(), mnist5k, TrainConfig(epochs=5, **SMALL), device="cpu", on_batch=on_batch, stop=stop)
    assert result.stopped and len(result.batch_losses) == 3 and len(result.history) == 1


@pytest.mark.parametrize("optimizer,lr", [("sgd", 100.0), ("adam", 50.0)])
def test_an_exploding_learning_rate_stops_with_an_explanation(mnist5k, optimizer, lr):
    config = TrainConfig(epochs=3, optimizer=optimizer, lr=lr, schedule="constant", **SMALL)
    with pytest.raises(TrainingDiverged, match="learning rate .* too large.*smaller"):
        train(ModelConfig(), mnist5k, config, device="cpu")


def test_nan_inputs_are_caught_as_divergence(mnist5k, monkeypatch):
    """Whatever makes the loss NaN, the loop notices at once."""
    original = nn.CrossEntropyLoss.forward
    monkeypatch.setattr(nn.CrossEntropyLoss, "forward", lambda self, x, y: original(self, x, y) * float("nan"))
    with pytest.raises(TrainingDiverged, match="NaN"):
        train(ModelConfig(), mnist5k, TrainConfig(epochs=1, **SMALL), device="cpu")


@pytest.mark.parametrize(
    "kwargs",
    [{"lr": 0}, {"lr": -1}, {"lr": float("nan")}, {"lr": float("inf")}, {"epochs": 0}, {"batch_size": 0},
     {"optimizer": "lbfgs"}, {"schedule": "cosine"}, {"momentum": 1.0}, {"train_limit": 0}],
)
def test_bad_training_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_an_unknown_optimizer_is_refused_with_the_choices():
    with pytest.raises(LocalizedError) as info:
        TrainConfig(optimizer="lbfgs")
    assert info.value.msg.key == "err.unknown_choice"
    assert "lbfgs" in str(info.value) and all(name in str(info.value) for name in OPTIMIZERS)
    assert "lbfgs" in info.value.message("zh")


def test_training_offers_every_optimizer_of_the_registry_with_a_default_rate():
    assert OPTIMIZERS == optim.OPTIMIZERS and set(DEFAULT_LR) == set(OPTIMIZERS)
    assert all(t(f"train.opt.{name}", lang) for name in OPTIMIZERS for lang in ("en", "zh"))


def test_make_optimizer():
    params = [nn.Parameter(torch.zeros(2))]
    assert isinstance(make_optimizer("sgd", params, 0.1), torch.optim.SGD)
    assert make_optimizer("sgd", params, 0.1).param_groups[0]["momentum"] == 0
    assert make_optimizer("momentum", params, 0.1).param_groups[0]["momentum"] == 0.9
    assert isinstance(make_optimizer("adam", params, 0.1), torch.optim.Adam)
    with pytest.raises(ValueError):
        make_optimizer("lbfgs", params, 0.1)


def test_tensorboard_scalars_are_written(mnist5k, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(ModelConfig(kind="softmax"), mnist5k, TrainConfig(epochs=2, **SMALL), device="cpu", tensorboard_dir=tmp_path)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"Loss/train", "Accuracy/train", "Accuracy/test"} <= tags
    assert [e.step for e in events.Scalars("Accuracy/test")] == [1, 2]


def test_evaluate_agrees_with_pytorch(mnist5k):
    model = build_model(ModelConfig(), seed=0).train()
    x, y = mnist5k.tensors("test", limit=300)
    result = evaluate(model, x, y, batch_size=128)
    with torch.no_grad():
        model.eval()
        logits = model(x)
    model.train()
    assert result.loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert result.accuracy == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert sum(map(sum, result.confusion)) == 300 == result.n
    assert sum(result.confusion[i][i] for i in range(10)) == round(result.accuracy * 300)
    assert model.training  # the caller's mode is restored


def test_mistakes_are_sorted_by_confidence_and_report_uses_the_models_normalisation(mnist5k):
    model = build_model(ModelConfig(), seed=0)
    x, y = mnist5k.tensors("test", limit=200)
    probs = predict(model, x)
    wrong = mistakes(probs, y, limit=50)
    confidences = [probs[i].max().item() for i in wrong]
    assert confidences == sorted(confidences, reverse=True)
    assert all(probs[i].argmax() != y[i] for i in wrong)
    report = evaluation_report(model, mnist5k.test_images[:200], mnist5k.test_labels[:200], (mnist5k.info.mean, mnist5k.info.std))
    assert report.result.accuracy == pytest.approx(evaluate(model, x, y).accuracy)
    assert [m.index for m in report.mistakes] == wrong[:16]
