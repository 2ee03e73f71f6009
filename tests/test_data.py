import hashlib
import struct

import numpy as np
import pytest
import torch

from explainer import data as data_module
from explainer.data import DATASETS, DatasetUnavailable, dataset_available, dataset_info, load_dataset, mnist5k_split, normalize
from explainer.paths import cache_dir


def test_mnist5k_shapes_and_types(mnist5k):
    assert mnist5k.train_images.shape == (4000, 28, 28) and mnist5k.train_images.dtype == torch.uint8
    assert mnist5k.test_images.shape == (1000, 28, 28)
    assert mnist5k.train_labels.dtype == torch.int64
    info = DATASETS["mnist-5k"]  # what the pages know before loading it: the same sizes
    assert (info.train_size, info.test_size) == (len(mnist5k.train_labels), len(mnist5k.test_labels))
    assert (DATASETS["mnist"].test_size, DATASETS["fashion-mnist"].train_size) == (10000, 60000)
    assert int(mnist5k.train_images.max()) == 255 and int(mnist5k.train_images.min()) == 0
    # MNIST is white ink on black: most pixels are background.
    assert float((mnist5k.test_images == 0).float().mean()) > 0.7


def test_mnist5k_split_is_stratified_disjoint_and_complete(mnist5k):
    assert torch.bincount(mnist5k.train_labels).tolist() == [400] * 10
    assert torch.bincount(mnist5k.test_labels).tolist() == [100] * 10
    arrays = np.load(cache_dir() / data_module._MNIST5K_CACHE)
    train, test = set(arrays["train_index"].tolist()), set(arrays["test_index"].tolist())
    assert not train & test
    assert train | test == set(range(5000))


def test_mnist5k_split_is_pinned():
    """The shipped model's accuracy is measured on this exact test split: it must never drift."""
    labels = np.repeat(np.arange(10), 500)
    train, test = mnist5k_split(labels)
    digest = hashlib.sha256(np.sort(test).tobytes()).hexdigest()[:16]
    again_train, again_test = mnist5k_split(labels)
    assert np.array_equal(test, again_test) and np.array_equal(train, again_train)
    assert test[:5].tolist() == PINNED_FIRST_TEST and digest == PINNED_DIGEST


PINNED_FIRST_TEST = [3290, 1081, 258, 2069, 3401]
PINNED_DIGEST = "02541804a241b6d9"


def test_mnist5k_loads_from_cache_without_parsing(monkeypatch, mnist5k):
    def fail():
        raise AssertionError("the CSV was parsed again")

    monkeypatch.setattr(data_module, "_parse_mnist5k", fail)
    again = load_dataset("mnist-5k")
    assert torch.equal(again.test_images, mnist5k.test_images)


def test_a_corrupt_cache_is_rebuilt(monkeypatch, tmp_path, mnist5k):
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    (tmp_path / data_module._MNIST5K_CACHE).write_bytes(b"PK\x03\x04 garbage")
    rebuilt = load_dataset("mnist-5k")
    assert torch.equal(rebuilt.train_images, mnist5k.train_images)
    assert data_module._read_npz(tmp_path / data_module._MNIST5K_CACHE) is not None
    assert not list(tmp_path.glob("*.tmp"))


def test_normalize_matches_the_formula():
    images = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8)
    info = dataset_info("mnist")
    x = normalize(images, info)
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    expected = (images.float() / 255 - info.mean) / info.std
    torch.testing.assert_close(x[:, 0], expected)
    assert images.dtype == torch.uint8  # the input is not modified in place


def test_tensors_normalises_and_limits(mnist5k):
    x, y = mnist5k.tensors("test", limit=10)
    assert x.shape == (10, 1, 28, 28) and y.shape == (10,)
    assert abs(float(mnist5k.tensors("train")[0].mean())) < 0.2  # roughly zero-mean after normalising
    with pytest.raises(ValueError):
        mnist5k.split("validation")


def test_class_names():
    assert DATASETS["mnist-5k"].classes == tuple("0123456789")
    assert DATASETS["fashion-mnist"].classes[9] == "Ankle boot"
    with pytest.raises(ValueError, match="mnist-5k"):
        dataset_info("cifar")


def _write_idx(path, array: np.ndarray) -> None:
    """The IDX format of the MNIST files: magic (0x08 = uint8, ndim), big-endian sizes, raw bytes."""
    header = struct.pack(">I", 0x0800 + array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture()
def fake_fashion(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return tmp_path


@pytest.mark.parametrize("where", ["root", "class folder", "raw folder"])
def test_torchvision_dataset_from_a_data_dir(fake_fashion, where):
    data_dir = {"root": fake_fashion, "class folder": fake_fashion / "FashionMNIST", "raw folder": fake_fashion / "FashionMNIST" / "raw"}[where]
    assert dataset_available("fashion-mnist", data_dir)
    ds = load_dataset("fashion-mnist", data_dir=data_dir, download=False)
    assert ds.train_images.shape == (12, 28, 28) and ds.test_labels.tolist() == [0, 1, 2, 3, 4]
    assert ds.info.classes[0] == "T-shirt/top"


def test_missing_dataset_offline_says_what_to_do(tmp_path):
    assert not dataset_available("mnist", tmp_path)
    with pytest.raises(DatasetUnavailable) as err:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    message = str(err.value)
    assert "--data-dir" in message and "mnist-5k" in message and "internet" in message


def test_failed_download_becomes_a_clear_error(tmp_path, monkeypatch):
    from torchvision import datasets

    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://x/, got:\n<urlopen error [Errno -2] Name or service not known>\n")

    monkeypatch.setattr(datasets.MNIST, "download", no_network)
    with pytest.raises(DatasetUnavailable, match="could not be downloaded.*Name or service not known"):
        load_dataset("mnist", data_dir=tmp_path, download=True)
