"""What an adversarial student would throw at every input surface of the app.

Grid editors, numeric and text fields, uploads of pictures and checkpoints, links (see
test_links.py) and the command line. For every case: a clear message (an error element, or
one line on stderr with exit code 2), no traceback, no file written outside the app's own
cache, no code run, and the other students' sessions — and the shared model — unaffected.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from explainer.checkpoint import load_shipped
from explainer.cli import main as cli
from explainer.paths import SHIPPED_CHECKPOINT
from tests.apptest import ok, open_page
from tests.live_server import ROOT

CANARY = Path(os.environ["EXPLAINER_CACHE_DIR"]).parent / "hostile-canary-was-written"


class _RunsCode:
    """Unpickling this would create the canary file: proof that code ran."""

    def __reduce__(self):  # noqa: ANN204
        return (Path.write_text, (CANARY, "code ran"))


def evil_pickle() -> bytes:
    return pickle.dumps({"state_dict": _RunsCode()}, protocol=2)


def evil_torch_zip() -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": _RunsCode()}, buffer)
    return buffer.getvalue()


def safetensors_with(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    from safetensors.torch import save

    return save(tensors, metadata=metadata)


def shipped_tensors() -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    with safe_open(str(SHIPPED_CHECKPOINT), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge picture (a decompression bomb) with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def image_bytes(mode: str, size: tuple[int, int] = (60, 60), fmt: str = "PNG") -> bytes:
    image = Image.new(mode, size)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def files_under(folder: Path) -> set[Path]:
    skip = {".git", "__pycache__", ".pytest_cache", ".hypothesis", "test-artifacts"}
    return {p for p in folder.rglob("*") if not (set(p.relative_to(folder).parts) & skip)}


def model_digest() -> str:
    model = load_shipped().model
    return hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.state_dict().values())).hexdigest()


@pytest.fixture(scope="module", autouse=True)
def nothing_written_and_no_code_run():
    before_repo, before_home = files_under(ROOT), set(Path.home().iterdir())
    digest = model_digest()
    yield
    assert files_under(ROOT) == before_repo, "a hostile input wrote a file into the app's folder"
    assert set(Path.home().iterdir()) == before_home
    assert not CANARY.exists(), "a pickle ran code"
    assert model_digest() == digest


def test_the_canary_would_catch_a_pickle_that_runs_code():
    """The check below is real: unpickling the payload does write the canary."""
    pickle.loads(evil_pickle())  # noqa: S301 - on purpose, once, to prove the detector works
    assert CANARY.exists()
    CANARY.unlink()


GRID_TEXTS = {
    "nan": "nan 1 2; 3 4 5; 6 7 8", "inf": "1 2 3; 4 inf 6; 7 8 9", "huge": "1e999 1; 1 1", "letters": "a b c; d e f",
    "ragged": "1 2 3; 4 5", "empty": "", "enormous": "; ".join(" ".join(["1"] * 300) for _ in range(300)),
    "script": "<script>alert(1)</script>", "path": "../../etc/passwd", "long_number": "9" * 5000,
}


@pytest.mark.parametrize("case", list(GRID_TEXTS))
def test_the_grid_paste_box_refuses_bad_text_and_keeps_the_grid(case):
    at = open_page("pages/convolution.py")
    before = at.session_state["conv_input__base"]
    ok(at.text_area(key="conv_input__text1").input(GRID_TEXTS[case]).run())
    ok(at.button(key="conv_input__apply1").click().run())
    assert at.error, case
    assert at.session_state["conv_input__base"] == before  # nothing lost
    assert "Step 1 of 9" in " ".join(m.value for m in at.markdown)  # the page still works


@pytest.mark.parametrize("setting,value,needle", [("conv_stride", 0, "stride"), ("conv_dilation", 0, "dilation"),
                                                  ("conv_padding", 0, None)])
def test_numeric_settings_at_their_limits(setting, value, needle):
    at = open_page("pages/convolution.py")
    ok(at.number_input(key=setting).set_value(value).run())
    if needle:
        assert at.error and needle in at.error[0].value.lower()
    ok(at.number_input(key=setting).set_value(1).run())
    assert not at.error


@pytest.mark.parametrize("text", ["nan", "1 inf 2", "1e999 0", "-1e400 1", "", "1 2 x", "<b>1</b>", "../../etc/passwd",
                                  " ".join(["1"] * 5000), "0x10 2"])
def test_the_logits_field_refuses_bad_text(text):
    at = open_page("pages/softmax.py")
    ok(at.text_input(key="softmax_logits").input(text).run())
    assert at.error
    ok(at.text_input(key="softmax_logits").input("1 2 3").run())
    assert not at.error


PICTURES = {
    "empty": b"",
    "not_a_picture": b"these are not pixels",
    "truncated": image_bytes("L")[:60],
    "bomb": png_claiming(30000, 30000),
    "pickle_named_png": evil_pickle(),
    "black": image_bytes("L"),
}
GOOD_ODD_PICTURES = {"16bit": ("I;16", "PNG"), "palette": ("P", "PNG"), "alpha": ("LA", "PNG"), "cmyk": ("CMYK", "JPEG"),
                     "gif": ("P", "GIF"), "bmp": ("RGB", "BMP")}


@pytest.mark.parametrize("case", list(PICTURES))
def test_bad_pictures_get_a_clear_message(case):
    at = open_page("pages/forward.py")
    ok(at.radio(key="digit_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload(f"{case}.png", PICTURES[case], "image/png").run())
    assert at.error, case
    assert not at.metric  # no prediction from a bad picture


@pytest.mark.parametrize("case", list(GOOD_ODD_PICTURES))
def test_pictures_of_every_mode_are_read_or_refused_cleanly(case):
    mode, fmt = GOOD_ODD_PICTURES[case]
    image = Image.new(mode, (80, 80))
    Image.Image.paste(image, 255 if mode in ("L", "I;16", "P", "LA") else (255, 255, 255) if mode != "CMYK" else (0, 0, 0, 0),
                      (20, 10, 40, 70))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    at = open_page("pages/forward.py")
    ok(at.radio(key="digit_mode").set_value("upload").run())
    ok(at.file_uploader(key="fwd_upload").upload(f"{case}.{fmt.lower()}", buffer.getvalue(), "image/png").run())
    assert at.error or at.metric  # a prediction, or a sentence saying why not — never a traceback


def checkpoint_cases() -> dict[str, bytes]:
    tensors, meta = shipped_tensors()
    wrong_shape = dict(tensors, **{"fc2.weight": torch.zeros(3, 64)})
    integers = {k: v.to(torch.int64) for k, v in tensors.items()}
    nan = dict(tensors, **{"conv1.weight": torch.full_like(tensors["conv1.weight"], float("nan"))})
    extra = dict(tensors, **{"backdoor.weight": torch.zeros(1)})
    return {
        "pickle_runs_code.pt": evil_pickle(),
        "zip_runs_code.pt": evil_torch_zip(),
        "wrong_shape.safetensors": safetensors_with(wrong_shape, meta),
        "integer_weights.safetensors": safetensors_with(integers, meta),
        "nan_weights.safetensors": safetensors_with(nan, meta),
        "extra_layer.safetensors": safetensors_with(extra, meta),
        "no_metadata.safetensors": safetensors_with(tensors),
        "lying_metadata.safetensors": safetensors_with(tensors, dict(meta, model='{"kind": "mlp"}')),
        "truncated.safetensors": SHIPPED_CHECKPOINT.read_bytes()[:500],
        "../../etc/passwd.pt": b"root:x:0:0:root:/root:/bin/bash\n",
        "empty.pt": b"",
    }


@pytest.mark.parametrize("name", list(checkpoint_cases()))
def test_bad_checkpoints_are_refused_and_nothing_else_happens(name):
    at = open_page("pages/train.py")
    ok(at.file_uploader(key="train_upload").upload(name, checkpoint_cases()[name], "application/octet-stream").run())
    assert at.error, name
    assert not at.session_state["training_runs"]
    assert at.selectbox(key="model").value == "simplecnn"
    assert not CANARY.exists()


def test_other_sessions_are_unaffected_by_a_hostile_one():
    mallory = open_page("pages/train.py")
    ok(mallory.file_uploader(key="train_upload").upload("evil.pt", evil_pickle(), "application/octet-stream").run())
    alice = open_page("pages/forward.py")
    assert {m.label: m.value for m in alice.metric}["Prediction"] == "6"
    assert alice.selectbox(key="model").value == "simplecnn" and not alice.error


@pytest.mark.parametrize("argv", [
    ["forward", "--image", "../../etc/passwd"],
    ["forward", "--checkpoint", "../../etc/passwd"],
    ["evaluate", "--checkpoint", "/dev/zero"],
    ["forward", "--index", "-1"],
    ["forward", "--index", "99999999999999999999"],
    ["train", "--lr", "nan", "--out", "x.safetensors"],
    ["train", "--lr", "1e999", "--out", "x.safetensors"],
    ["train", "--epochs", "-3", "--out", "x.safetensors"],
    ["train", "--batch-size", "0", "--out", "x.safetensors"],
    ["walkthrough", "--input", "nan 1; 1 1"],
    ["walkthrough", "--kernel", "; ".join(" ".join(["1"] * 50) for _ in range(50))],
    ["walkthrough", "--stride", "0"],
    ["softmax", "--logits", "inf", "1"],
])
def test_the_command_line_answers_hostile_arguments_in_one_line(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli(argv)
    captured = capsys.readouterr()
    assert code == 2, argv
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert not list(tmp_path.iterdir())  # nothing written
