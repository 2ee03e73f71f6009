import json
import math
import subprocess
import sys

import pytest

from explainer.checkpoint import load_checkpoint
from explainer.cli import main
from explainer.paths import SHIPPED_CHECKPOINT
from tests.live_server import ROOT


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json_through_the_real_entry_point():
    proc = subprocess.run([sys.executable, "-m", "explainer", "info", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["device"] == "cpu" and info["cuda_available"] in (True, False)
    model = info["default_model"]
    assert model["kind"] == "simplecnn" and model["parameters"] == 52_138
    assert model["dataset"] == "mnist-5k" and model["test_accuracy"] >= 0.97
    datasets = {d["name"]: d for d in info["datasets"]}
    assert datasets["mnist-5k"]["available_offline"] is True
    assert set(datasets) == {"mnist-5k", "mnist", "fashion-mnist"}


def test_train_then_evaluate(capsys, tmp_path):
    out_path = tmp_path / "run" / "m.safetensors"
    code, out, err = run(
        capsys, "train", "--model", "mlp", "--epochs", "2", "--train-limit", "300", "--batch-size", "50",
        "--seed", "1", "--out", str(out_path), "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["checkpoint"] == str(out_path) and out_path.exists()
    assert [e["epoch"] for e in result["epochs"]] == [1, 2]
    assert {"loss", "accuracy", "test_accuracy"} <= set(result["epochs"][0])
    assert result["test_accuracy"] == result["epochs"][-1]["test_accuracy"]
    assert result["device"] == "cpu" and result["seconds"] > 0
    assert "epoch 2/2" in err  # progress on stderr
    assert load_checkpoint(out_path).meta.test_accuracy == pytest.approx(result["test_accuracy"])

    code, out, err = run(capsys, "evaluate", "--checkpoint", str(out_path), "--json")
    assert code == 0, err
    evaluation = json.loads(out)
    assert evaluation["n"] == 1000 and evaluation["test_accuracy"] == pytest.approx(result["test_accuracy"])


def test_evaluate_the_shipped_model(capsys):
    code, out, err = run(capsys, "evaluate", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["checkpoint"] == str(SHIPPED_CHECKPOINT)
    assert result["test_accuracy"] >= 0.97 and result["n"] == 1000 and 0 < result["test_loss"] < 0.2
    assert len(result["per_class_accuracy"]) == 10 and len(result["mistakes"]) > 0


def test_train_without_json_prints_nothing_on_stdout(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--model", "softmax", "--epochs", "1", "--train-limit", "100", "--out", str(tmp_path / "s.pt"))
    assert code == 0 and out == "" and "saved" in err
    assert load_checkpoint(tmp_path / "s.pt").meta.model.kind == "softmax"


def _one_clean_line(err):
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "--dataset", "cifar10"], "invalid choice"),
        (["train", "--epochs", "many"], "invalid int"),
        (["train", "--lr", "-1", "--epochs", "1"], "learning rate"),
        (["frobnicate"], "invalid choice"),
        (["evaluate", "--checkpoint", "/nonexistent/model.safetensors"], "no checkpoint"),
        (["evaluate", "--checkpoint", str(ROOT / "requirements.txt")], "not a"),
        (["info", "--device", "tpu"], "Unknown device"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    _one_clean_line(err)
    assert needle in err


@pytest.mark.parametrize("argv,where", [
    (["frobnicate"], "python -m explainer --help"),
    ([], "python -m explainer --help"),
    (["--bogus", "softmax", "--logits", "1"], "python -m explainer --help"),  # a flag before the command is the top level's
    (["saliency", "--method", "lime"], "python -m explainer saliency --help"),
    (["train", "--epochs", "many"], "python -m explainer train --help"),
    (["softmax"], "python -m explainer softmax --help"),
    (["softmax", "--logits", "x"], "python -m explainer softmax --help"),
    (["softmax", "--logits", "1", "2", "--bogus"], "python -m explainer softmax --help"),  # argparse would blame the top level
    (["info", "--bogus"], "python -m explainer info --help"),
])
def test_a_usage_error_points_at_the_right_help(capsys, argv, where):
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.endswith(f"(see `{where}`)\n")
    _one_clean_line(err)


def test_the_model_flags_offer_the_registered_kinds():
    from explainer.checkpoint import SHIPPED_KINDS
    from explainer.cli import build_parser
    from explainer.model import MODEL_KINDS

    parser = build_parser()
    for kind in MODEL_KINDS:
        assert parser.parse_args(["train", "--model", kind]).model == kind
    for command in ("forward", "landscape"):
        for kind in SHIPPED_KINDS:
            assert parser.parse_args([command, "--model", kind]).model == kind
    assert parser.parse_args(["saliency", "--method", "saliency"]).model == "simplecnn"


def test_no_gpu_asked_for(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = run(capsys, "info", "--device", "cuda", "--json")
    assert code == 2 and "no" in err.lower() and "--device cpu" in err
    _one_clean_line(err)


def test_corrupt_checkpoint(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(SHIPPED_CHECKPOINT.read_bytes()[:5000])
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(bad))
    assert code == 2
    _one_clean_line(err)


def test_exploding_learning_rate_saves_nothing(capsys, tmp_path):
    out_path = tmp_path / "never.safetensors"
    code, out, err = run(capsys, "train", "--optimizer", "sgd", "--lr", "100", "--schedule", "constant", "--epochs", "2",
                         "--train-limit", "512", "--out", str(out_path), "--json")
    assert code == 2 and out == "" and not out_path.exists()
    assert "learning rate" in err.splitlines()[-1] and "Nothing was saved" in err


def test_offline_dataset_download(capsys, tmp_path, monkeypatch):
    from torchvision import datasets

    monkeypatch.setattr(datasets.FashionMNIST, "download", lambda self: (_ for _ in ()).throw(RuntimeError("Error downloading:\n<urlopen error no network>")))
    code, _, err = run(capsys, "train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--epochs", "1")
    assert code == 2 and "Fashion-MNIST" in err and "mnist-5k" in err
    _one_clean_line(err)


def test_out_is_a_directory(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", str(tmp_path))
    assert code == 2 and "folder" in err


@pytest.mark.parametrize("name", ["notes.txt", "passwd", "model.safetensors"])
def test_out_never_replaces_a_file_that_is_not_a_checkpoint(capsys, tmp_path, name):
    target = tmp_path / name
    target.write_text("a student's essay")
    code, _, err = run(capsys, "train", "--epochs", "1", "--train-limit", "64", "--out", str(target))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert target.read_text() == "a student's essay"


def test_walkthrough_defaults_are_the_course_example(capsys):
    code, out, err = run(capsys, "walkthrough", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"input", "kernel", "conv", "relu", "pool", "flatten", "fc", "softmax"}
    assert data["input"][0] == [3, 3, 2, 1, 0] and data["kernel"] == [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
    assert data["conv"]["output"] == [[24, 18, 8], [26, 18, 8], [28, 18, 8]]
    assert data["pool"]["output"] == [[24, 18], [28, 18]] and data["flatten"] == [24, 18, 28, 18]
    assert {"weight", "bias", "output"} <= set(data["fc"])
    assert sum(data["softmax"]["probabilities"]) == pytest.approx(1)


def test_walkthrough_options(capsys):
    code, out, err = run(capsys, "walkthrough", "--json", "--input", "[[1,2,3],[4,5,6],[7,8,9]]", "--kernel", "1 0; 0 1",
                         "--stride", "1", "--padding", "1", "--bias", "0.5", "--pool", "avg", "--pool-kernel", "2",
                         "--pool-stride", "1", "--pool-padding", "0", "--fc-outputs", "2")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["conv"]["output"]) == 4 and data["conv"]["output"][0][0] == 1.5  # padding 0 · 1 + 1 · 1 + bias
    assert data["pool"]["kind"] == "avg" and len(data["fc"]["output"]) == 2
    code, out, err = run(capsys, "walkthrough")
    assert code == 0 and "softmax:" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["walkthrough", "--stride", "0"], "stride"),
        (["walkthrough", "--input", "1 2; 3 x"], "not a number"),
        (["walkthrough", "--input", "1 2 3", "--kernel", "[[1,1,1,1,1]]"], "does not fit"),
        (["walkthrough", "--pool-padding", "2"], "at most half"),
        (["walkthrough", "--bias", "nan"], "bias"),
        (["softmax", "--logits", "nan", "1"], "NaN"),
        (["softmax", "--logits", "1", "2", "--temperature", "0"], "temperature"),
        (["softmax", "--logits", "1", "2", "--target", "5"], "true class"),
    ],
)
def test_stage_commands_refuse_bad_settings(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    _one_clean_line(err)
    assert needle in err


def test_softmax_command(capsys):
    code, out, err = run(capsys, "softmax", "--logits", "1", "2", "7", "--json")
    assert code == 0, err
    data = json.loads(out)
    total = math.exp(1) + math.exp(2) + math.exp(7)
    assert data["probabilities"] == pytest.approx([math.exp(1) / total, math.exp(2) / total, math.exp(7) / total])
    code, out, _ = run(capsys, "softmax", "--logits", "1000", "0", "-1000", "--target", "0", "--json")
    data = json.loads(out)
    assert data["probabilities"] == [1.0, 0.0, 0.0] and data["naive_overflows"] and data["cross_entropy"] == 0
    code, out, _ = run(capsys, "softmax", "--logits", "1", "2", "3", "--temperature", "10")
    assert code == 0 and out.startswith("probabilities: ")


def test_softmax_command_hinge_on_the_logits_cross_entropy_on_z_over_t(capsys):
    """The issue's example: T = 0.5 on logits 1 2 7, target 0. Hinge 9 (not 16, the hinge of z / T); cross-entropy of z / T."""
    code, out, err = run(capsys, "softmax", "--logits", "1", "2", "7", "--target", "0", "--temperature", "0.5", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["hinge"] == 9 and data["margin"] == 1
    assert data["cross_entropy"] == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + math.exp(4) + math.exp(14))))
    code, out, _ = run(capsys, "softmax", "--logits", "1", "2", "7", "--target", "0", "--temperature", "0.5")
    assert code == 0 and out.splitlines()[1] == "cross-entropy: 12.0001   hinge (margin 1): 9"
    code, out, _ = run(capsys, "softmax", "--logits", "3.2", "5.1", "-1.7", "--target", "0", "--margin", "1", "--json")
    assert json.loads(out)["hinge"] == pytest.approx(2.9)  # CS231n
    code, out, err = run(capsys, "softmax", "--logits", "1", "2", "--target", "0", "--margin", "-1")
    assert code == 2 and "margin" in err


def test_softmax_command_never_prints_minus_zero(capsys):
    """−log 1 is -0.0 in floating point: `1000 0 -1000 --target 0` must say 0, in text and in JSON."""
    argv = ["softmax", "--logits", "1000", "0", "-1000", "--target", "0"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.splitlines()[1] == "cross-entropy: 0   hinge (margin 1): 0"
    assert "-0" not in out.replace("-0.", "")  # no "-0" or "-0.0000" (a "-0.5" would be fine)
    code, out, _ = run(capsys, *argv, "--json")
    data = json.loads(out)
    assert data["cross_entropy"] == 0 and "-0.0," not in out and "-0.0]" not in out and "-0.0}" not in out

    def numbers(value):
        if isinstance(value, list):
            for v in value:
                yield from numbers(v)
        elif isinstance(value, float):
            yield value

    assert all(math.copysign(1, v) == 1 for v in numbers(list(data.values())) if v == 0)


def test_forward_on_a_test_digit(capsys):
    code, out, err = run(capsys, "forward", "--index", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["label"] == 4 and data["prediction"] == 4 and data["index"] == 3
    assert len(data["probabilities"]) == 10 and sum(data["probabilities"]) == pytest.approx(1)
    names = [s["name"] for s in data["stages"]]
    assert names == ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "softmax"]
    conv1 = data["stages"][1]
    assert conv1["shape"] == [1, 8, 28, 28] and conv1["min"] < 0 < conv1["max"]
    code, out, _ = run(capsys, "forward", "--model", "softmax", "--json")
    assert [s["name"] for s in json.loads(out)["stages"]] == ["input", "flatten", "fc", "softmax"]


def test_forward_on_a_picture(capsys, tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("L", (120, 160), 255)
    ImageDraw.Draw(image).line([(20, 20), (90, 20), (40, 140)], fill=0, width=10)
    image.save(tmp_path / "seven.png")
    code, out, err = run(capsys, "forward", "--image", str(tmp_path / "seven.png"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["prediction"] == 7 and data["inverted"] is True and "label" not in data


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda p: p.write_bytes(b"not an image"), "not a picture"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: None, "Cannot read"),
    ],
)
def test_forward_refuses_unreadable_images(capsys, tmp_path, make, needle):
    path = tmp_path / "x.png"
    make(path)
    code, out, err = run(capsys, "forward", "--image", str(path))
    assert code == 2 and out == ""
    _one_clean_line(err)
    assert needle in err


def test_forward_index_out_of_range(capsys):
    code, _, err = run(capsys, "forward", "--index", "1000")
    assert code == 2 and "from 0 to 999" in err


def test_train_with_an_architecture_and_snapshots(capsys, tmp_path):
    out_path = tmp_path / "arch.safetensors"
    code, out, err = run(
        capsys, "train", "--channels", "4", "6", "3", "--kernel", "3", "--padding", "valid", "--activation", "tanh",
        "--dropout", "0.3", "--hidden", "16", "--epochs", "2", "--train-limit", "300", "--batch-size", "50",
        "--snapshots", "6", "--out", str(out_path), "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    model = load_checkpoint(out_path).meta.model  # the checkpoint's metadata describes the architecture
    assert model.channels == (4, 6, 3) and model.kernel_size == 3 and model.padding == "valid"
    assert model.activation == "tanh" and model.dropout == pytest.approx(0.3) and model.hidden == 16
    replay = json.loads((tmp_path / "arch.snapshots.json").read_text())
    steps = [s["step"] for s in replay["snapshots"]]
    assert result["snapshots"] == str(tmp_path / "arch.snapshots.json")
    assert steps[0] == 0 and steps[-1] == 12 and steps == sorted(steps) and len(steps) <= 6 + 2
    assert replay["snapshots"][0]["weights"]["shape"] == [4, 3, 3] and replay["snapshots"][0]["maps"]["shape"] == [4, 26, 26]
    assert replay["watch_labels"] == list(range(8)) and len(replay["classes"]) == 10


def test_the_course_presets_and_an_impossible_architecture(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--preset", "mlp", "--epochs", "1", "--train-limit", "256", "--out", str(tmp_path / "m.pt"),
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["config"]["optimizer"] == "sgd" and result["config"]["lr"] == 0.1 and result["config"]["batch_size"] == 256
    assert result["config"]["schedule"] == "constant" and result["model"]["hidden"] == 256 and result["model"]["kind"] == "mlp"
    code, out, err = run(capsys, "train", "--channels", "8", "8", "8", "--kernel", "7", "--padding", "valid", "--out",
                         str(tmp_path / "x.pt"))
    assert code == 2 and "larger than its padded input" in err and not (tmp_path / "x.pt").exists()
    _one_clean_line(err)


def test_a_cli_run_kept_in_the_run_store_is_listed_shown_exported_and_deleted(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--model", "softmax", "--epochs", "1", "--train-limit", "200", "--save-run",
                         "--out", str(tmp_path / "s.safetensors"), "--json")
    assert code == 0, err
    run_id = json.loads(out)["run"]
    code, out, err = run(capsys, "runs", "list", "--json")
    listed = json.loads(out)["runs"]
    assert code == 0 and run_id in [r["id"] for r in listed]
    mine = next(r for r in listed if r["id"] == run_id)
    assert mine["desk_name"] == "command line" and mine["source"] == "cli" and mine["name"] == "softmax · adam 0.01 · 1 epoch"
    code, out, err = run(capsys, "runs", "show", run_id, "--json")
    assert code == 0 and json.loads(out)["model"]["kind"] == "softmax"
    code, out, err = run(capsys, "runs", "export", run_id, "--out", str(tmp_path / "e.safetensors"), "--json")
    assert code == 0 and load_checkpoint(tmp_path / "e.safetensors").meta.model.kind == "softmax"
    code, out, err = run(capsys, "runs", "delete", run_id, "--json")
    assert code == 0 and json.loads(out)["deleted"] == run_id
    code, out, err = run(capsys, "runs", "show", run_id)
    assert code == 2 and "There is no saved run" in err
    _one_clean_line(err)
