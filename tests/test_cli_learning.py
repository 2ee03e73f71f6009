"""``python -m explainer descent`` and ``landscape``: their JSON, and exit code 2 on bad input."""

import json

import pytest
import torch
import torch.nn.functional as F

from explainer.checkpoint import load_shipped
from explainer.cli import main
from explainer.data import load_dataset
from explainer.descent import DEFAULT_LR
from explainer.landscape import fixed_batch


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_descent_prints_the_trajectory(capsys):
    code, out, err = run(capsys, "descent", "--function", "rosenbrock", "--optimizer", "adam", "--lr", "0.05",
                         "--steps", "40", "--start", "-1.5", "2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["function"] == "rosenbrock" and data["optimizer"] == "adam" and data["lr"] == 0.05
    assert len(data["points"]) == 41 and len(data["losses"]) == 41 and data["points"][0] == [-1.5, 2.0]
    assert data["losses"][0] == pytest.approx(2.5**2 + 100 * (2 - 2.25) ** 2)
    assert data["losses"][-1] < data["losses"][0] and data["diverged"] is False
    assert {"converged_at", "verdict", "gradients", "message", "minimum"} <= set(data)


def test_descent_defaults_and_one_weight_functions(capsys):
    code, out, _ = run(capsys, "descent", "--json")
    data = json.loads(out)
    assert code == 0 and data["function"] == "quadratic" and data["lr"] == DEFAULT_LR["quadratic"]["sgd"]
    assert data["converged_at"] is not None and data["condition"] == 10
    code, out, _ = run(capsys, "descent", "--function", "parabola", "--start", "-2.5", "--lr", "0.3", "--json")
    data = json.loads(out)
    assert code == 0 and data["points"][1] == [pytest.approx(-2.5 - 0.3 * -4.5)]
    code, out, _ = run(capsys, "descent", "--function", "saddle", "--steps", "3")
    assert code == 0 and out.count("step ") == 4


def test_a_divergent_rate_is_reported(capsys):
    code, out, err = run(capsys, "descent", "--function", "quadratic", "--optimizer", "sgd", "--lr", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["diverged"] is True and data["verdict"] == "diverged"
    assert data["diverged_at"] == data["steps"] + 1 or data["diverged_at"] == data["steps"]
    assert "diverged" in err and "smaller learning rate" in err


def test_landscape_json(capsys):
    code, out, err = run(capsys, "landscape", "--grid", "5", "--span", "0.5", "--batch", "40", "--seed", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["alphas"] == pytest.approx([-0.5, -0.25, 0, 0.25, 0.5]) and data["betas"] == data["alphas"]
    assert len(data["loss"]) == 5 and all(len(row) == 5 for row in data["loss"])
    assert data["loss"][2][2] == data["center_loss"] and data["seconds"] > 0 and data["method"] == "fast"
    checkpoint = load_shipped()
    batch = fixed_batch(load_dataset("mnist-5k").test_images, load_dataset("mnist-5k").test_labels, 40,
                       (checkpoint.meta.mean, checkpoint.meta.std))
    with torch.no_grad():
        expected = float(F.cross_entropy(checkpoint.model(batch.images), batch.labels))
    assert data["center_loss"] == pytest.approx(expected, abs=1e-5)
    code, out, _ = run(capsys, "landscape", "--model", "softmax", "--grid", "3", "--batch", "16")
    assert code == 0 and "softmax: 3×3 grid" in out


def _one_line(err):
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["descent", "--lr", "0"], "learning rate"),
        (["descent", "--lr", "nan"], "learning rate"),
        (["descent", "--function", "ackley"], "invalid choice"),
        (["descent", "--optimizer", "lbfgs"], "invalid choice"),
        (["descent", "--start", "1", "2", "3"], "start needs 2"),
        (["descent", "--function", "plateau", "--start", "1", "2"], "start needs 1"),
        (["descent", "--function", "rosenbrock", "--start", "9", "0"], "from -2 to 2"),
        (["descent", "--steps", "0"], "steps"),
        (["descent", "--condition", "1000"], "condition"),
        (["landscape", "--grid", "20"], "odd"),
        (["landscape", "--span", "0"], "span"),
        (["landscape", "--batch", "0"], "test digits"),
        (["landscape", "--seed", "-4"], "seed"),
        (["landscape", "--checkpoint", "/nonexistent/m.safetensors"], "no checkpoint"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    _one_line(err)
    assert needle in err
