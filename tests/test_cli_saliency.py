"""``python -m explainer saliency``: the JSON fields, the settings, and exit code 2 for what cannot be explained."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import _one_clean_line, run
from tests.test_forward_page import seven_png

pytestmark = pytest.mark.filterwarnings("ignore:Setting (forward, )?backward hooks")


def test_integrated_gradients_json(capsys):
    code, out, err = run(capsys, "saliency", "--method", "integrated-gradients", "--index", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "integrated-gradients" and data["target"] == data["prediction"] == data["label"] == 4
    assert len(data["attribution"]) == 28 and all(len(row) == 28 for row in data["attribution"])
    assert data["seconds"] > 0 and data["kind"] == "signed" and data["settings"] == {"baseline": "black", "steps": 50}
    total = sum(map(sum, data["attribution"]))
    assert abs(total - data["score_change"]) == pytest.approx(data["convergence_delta"], abs=1e-3)


def test_settings_and_another_class(capsys):
    code, out, err = run(capsys, "saliency", "--method", "grad-cam", "--index", "3", "--target", "9", "--layer", "conv2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["target"] == 9 and data["prediction"] == 4 and data["kind"] == "absolute"
    assert len(data["coarse"]) == 14 and "convergence_delta" not in data
    code, out, err = run(capsys, "saliency", "--method", "occlusion", "--window", "6", "--stride", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["settings"] == {"window": 6, "stride": 3}
    code, out, err = run(capsys, "saliency", "--method", "saliency", "--model", "softmax")
    assert code == 0 and "saliency for class" in out and len(out.splitlines()) == 29  # the map in characters, then a line


def test_a_picture(capsys, tmp_path):
    (tmp_path / "seven.png").write_bytes(seven_png())
    code, out, err = run(capsys, "saliency", "--method", "deeplift", "--image", str(tmp_path / "seven.png"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["prediction"] == data["target"] == 7 and "label" not in data and "convergence_delta" in data


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda p: p.write_bytes(b"not an image"), "not a picture"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: None, "Cannot read"),
    ],
)
def test_unreadable_images_exit_with_code_2(capsys, tmp_path, make, needle):
    path = tmp_path / "x.png"
    make(path)
    code, out, err = run(capsys, "saliency", "--method", "saliency", "--image", str(path), "--json")
    assert code == 2 and out == ""
    _one_clean_line(err)
    assert needle in err


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--method", "saliency", "--target", "10"], "from 0 to 9"),
        (["--method", "grad-cam", "--model", "mlp"], "needs a convolution layer"),
        (["--method", "occlusion", "--window", "4", "--stride", "8"], "stride"),
        (["--method", "integrated-gradients", "--steps", "0"], "steps"),
        (["--method", "smoothgrad", "--noise", "nan"], "noise"),
        (["--method", "lime"], "invalid choice"),
        (["--index", "3"], "required"),
        (["--method", "saliency", "--index", "1000"], "from 0 to 999"),
    ],
)
def test_what_cannot_be_explained_gives_one_line_and_exit_code_2(capsys, argv, needle):
    code, out, err = run(capsys, "saliency", *argv)
    assert code == 2 and out == ""
    _one_clean_line(err)
    assert needle in err
