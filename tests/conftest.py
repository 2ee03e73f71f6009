"""Shared fixtures: a private cache folder, the CPU, the real MNIST-5k, tiny seeded models."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before anything imports the app: tests use a private cache (removed at the end) and the CPU.
if "EXPLAINER_CACHE_DIR" not in os.environ:
    os.environ["EXPLAINER_CACHE_DIR"] = tempfile.mkdtemp(prefix="cnn-explainer-test-cache-")
    atexit.register(shutil.rmtree, os.environ["EXPLAINER_CACHE_DIR"], ignore_errors=True)
os.environ["EXPLAINER_DEVICE"] = "cpu"

import pytest  # noqa: E402
import torch  # noqa: E402

from explainer.data import Dataset, load_dataset  # noqa: E402
from explainer.model import ModelConfig, build_model  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    _make_apptest_follow_navigation()
    # Captum announces the hooks it sets on a private copy of the model; torch.load reports the
    # pickle protocol of the hostile files the tests feed it. Both are expected.
    for message in ("Setting backward hooks on ReLU", "Setting forward, backward hooks", "Detected pickle protocol"):
        config.addinivalue_line("filterwarnings", f"ignore:{message}:UserWarning")


def _make_apptest_follow_navigation() -> None:
    """Make AppTest run pages through ``st.navigation`` as the real server does.

    AppTest resets Streamlit's "old-style multipage app" flag before every run; with a
    ``pages/`` folder next to the entry script that flag comes back True, and AppTest then
    runs a page file on its own instead of through ``streamlit_app.py`` (no sidebar). On a
    real server the first ``st.navigation`` call sets the flag to False for good, which is
    what this reproduces.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__
    if getattr(original, "_follows_navigation", False):
        return

    def init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._follows_navigation = True  # type: ignore[attr-defined]
    PagesManager.__init__ = init


@pytest.fixture(scope="session")
def mnist5k() -> Dataset:
    return load_dataset("mnist-5k")


@pytest.fixture()
def tiny_cnn() -> torch.nn.Module:
    return build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()


@pytest.fixture()
def all_models() -> list[torch.nn.Module]:
    return [build_model(ModelConfig(kind=k), seed=0).eval() for k in ("simplecnn", "mlp", "softmax")]
