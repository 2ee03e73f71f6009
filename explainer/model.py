"""The teaching models: SimpleCNN and the two baselines of the course notes.

Every model is built from *named stage modules* registered in the order the data flows
through them, and ``forward`` calls them in exactly that order. That is what lets the
forward-pass trace, Grad-CAM and guided backprop find a layer by its name (``conv1``,
``relu2``, ...), and what lets :func:`list_stages` describe any of them.

The three models share one interface: ``Model(config)`` where ``config`` is a frozen
:class:`ModelConfig`; they take a batch ``[N, C, H, W]`` and return logits ``[N, classes]``.
The kinds are one registry, :data:`KINDS` (name, class, default width, shipped checkpoint);
:data:`MODEL_KINDS`, the shipped kinds and the CLI's choices are derived from it.
Softmax is *not* part of the model: ``nn.CrossEntropyLoss`` = log-softmax + NLL, as the
course explains, so the model stays numerically stable.

    >>> model = build_model(ModelConfig())
    >>> [s.name for s in list_stages(model)][:3]
    ['conv1', 'relu1', 'pool1']
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

DEFAULT_KIND = "simplecnn"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored as JSON in every checkpoint.

    ``channels`` and ``kernel_size`` only matter for SimpleCNN; ``hidden`` is the width of
    the fully connected hidden layer (SimpleCNN, MLP) and is ignored by softmax regression.
    """

    kind: str = DEFAULT_KIND
    in_channels: int = 1
    input_size: int = 28
    num_classes: int = 10
    channels: tuple[int, int] = (8, 16)
    kernel_size: int = 3
    hidden: int = -1  # -1: the default width of this kind

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"Unknown model kind {self.kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
        if self.hidden == -1:
            object.__setattr__(self, "hidden", KINDS[self.kind].hidden)
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        _require(len(self.channels) == 2, "channels must be two numbers, e.g. (8, 16).")
        _require(1 <= self.in_channels <= 4, "in_channels must be between 1 and 4.")
        _require(2 <= self.num_classes <= 1000, "num_classes must be between 2 and 1000.")
        _require(4 <= self.input_size <= 512, "input_size must be between 4 and 512.")
        if self.kind == "simplecnn":
            _require(all(1 <= c <= 512 for c in self.channels), "each channel count must be between 1 and 512.")
            _require(self.kernel_size in (1, 3, 5, 7), "kernel_size must be 1, 3, 5 or 7 (odd, so padding keeps the size).")
            _require(self.input_size % 4 == 0, "input_size must be divisible by 4 (two 2x2 poolings).")
        if self.kind != "softmax":
            _require(1 <= self.hidden <= 8192, "hidden must be between 1 and 8192.")

    @property
    def in_features(self) -> int:
        """Pixels per image: the length of the flattened input of the MLP and softmax models."""
        return self.in_channels * self.input_size * self.input_size

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown or ill-typed fields raise ValueError."""
        if not isinstance(data, dict):
            raise ValueError("The model configuration must be a JSON object.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown model configuration fields: {', '.join(sorted(unknown))}.")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "kind":
                if not isinstance(value, str):
                    raise ValueError("The model kind must be text.")
                kwargs[key] = value
            elif key == "channels":
                if not (isinstance(value, (list, tuple)) and all(_is_int(v) for v in value)):
                    raise ValueError("channels must be a list of whole numbers.")
                kwargs[key] = tuple(value)
            else:
                if not _is_int(value):
                    raise ValueError(f"{key} must be a whole number.")
                kwargs[key] = value
        return cls(**kwargs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _config_of_kind(config: ModelConfig | None, kind: str, class_name: str) -> ModelConfig:
    """``config``, or the default config of ``kind``; a config of another kind is refused."""
    config = config or ModelConfig(kind=kind)
    if config.kind != kind:
        raise ValueError(f"{class_name} needs a {kind!r} config, not {config.kind!r}.")
    return config


class SimpleCNN(nn.Module):
    """Conv2d → ReLU → MaxPool2d, twice, then Flatten → Linear → ReLU → Linear.

    Shapes with the default config (8 and 16 channels, 3×3 kernels, padding 1)::

        [N,1,28,28] -conv1-> [N,8,28,28] -pool1-> [N,8,14,14]
                    -conv2-> [N,16,14,14] -pool2-> [N,16,7,7] -flatten-> [N,784]
                    -fc1-> [N,64] -fc2-> [N,10] (logits)

    Padding ``k // 2`` keeps the spatial size through each convolution
    (``out = (n + 2p − k) / s + 1 = n``), so only the poolings halve it.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = _config_of_kind(config, "simplecnn", "SimpleCNN")
        c1, c2 = config.channels
        k = config.kernel_size
        self.conv1 = nn.Conv2d(config.in_channels, c1, kernel_size=k, padding=k // 2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=k, padding=k // 2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()
        side = config.input_size // 4
        self.fc1 = nn.Linear(c2 * side * side, config.hidden)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu3(self.fc1(x))
        return self.fc2(x)


class MLP(nn.Module):
    """The course's multilayer perceptron: Flatten → Linear(784, 256) → ReLU → Linear(256, 10)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = _config_of_kind(config, "mlp", "MLP")
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(config.in_features, config.hidden)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu1(self.fc1(self.flatten(x))))


class SoftmaxRegression(nn.Module):
    """Softmax regression from the course: Flatten → Linear(784, 10); softmax lives in the loss.

    ``p = softmax(W·x + b)``, trained with cross-entropy ``−log p_y``.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = _config_of_kind(config, "softmax", "SoftmaxRegression")
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(config.in_features, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(x))


@dataclass(frozen=True)
class ModelKind:
    """One kind of model: its name (``ModelConfig.kind``), its class, and what ships with the app.

    ``hidden`` is the hidden width when none is given: 64 keeps SimpleCNN small enough to
    train in seconds on a CPU; 256 is the 784-256-10 MLP of the course notes; softmax
    regression has no hidden layer. ``checkpoint`` is the file name of the pretrained model
    in ``explainer/weights/`` ("" when none ships).
    """

    name: str
    module: type[nn.Module]
    hidden: int
    checkpoint: str = ""

    @property
    def label_key(self) -> str:
        """The catalog key of the kind's name on screen."""
        return f"model.kind.{self.name}"


KINDS: dict[str, ModelKind] = {k.name: k for k in (
    ModelKind("simplecnn", SimpleCNN, 64, "simplecnn-mnist5k.safetensors"),
    ModelKind("mlp", MLP, 256, "mlp-mnist5k.safetensors"),
    ModelKind("softmax", SoftmaxRegression, 0, "softmax-mnist5k.safetensors"),
)}
MODEL_KINDS: tuple[str, ...] = tuple(KINDS)


_SEEDING = threading.Lock()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with PyTorch's global random generator seeded, then restore it.

    The global generator is shared by every thread of the process: two students' trainings
    seeding it at the same moment would get each other's numbers. The lock makes the
    seeded block atomic; the generator's state before it is restored after it.
    """
    with _SEEDING, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_model(config: ModelConfig, seed: int | None = None) -> nn.Module:
    """A freshly initialised model for ``config``; with ``seed`` the initial weights are repeatable."""
    if seed is None:
        return KINDS[config.kind].module(config)
    with seeded(seed):
        return KINDS[config.kind].module(config)


def model_config(model: nn.Module) -> ModelConfig:
    """The :class:`ModelConfig` a model was built from."""
    config = getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError("This is not one of the app's models (it has no ModelConfig).")
    return config


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's convolution stages (``conv1``, ``conv2``); empty for the MLP and softmax regression."""
    return [name for name, module in model.named_children() if isinstance(module, nn.Conv2d)]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in the model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass(frozen=True)
class StageInfo:
    """One stage of a model: its name, what kind of layer it is, and its output shape."""

    name: str
    layer: str  # e.g. "Conv2d(1, 8, kernel_size=3, padding=1)"
    output_shape: tuple[int, ...]  # for one image, batch dimension included: (1, 8, 28, 28)
    parameters: int
    weight_shapes: tuple[tuple[str, tuple[int, ...]], ...] = field(default=())


def list_stages(model: nn.Module, input_shape: tuple[int, ...] | None = None) -> list[StageInfo]:
    """The stages of ``model`` in the order the data flows, with the shape each one outputs.

    Runs one zero image through the stage modules one after the other (the same order that
    ``forward`` uses), without gradients and without touching the model's state.
    """
    config = model_config(model)
    shape = input_shape or (1, config.in_channels, config.input_size, config.input_size)
    param = next(model.parameters())
    x = torch.zeros(shape, dtype=param.dtype, device=param.device)
    stages: list[StageInfo] = []
    with torch.no_grad():
        for name, module in model.named_children():
            x = module(x)
            stages.append(
                StageInfo(
                    name=name,
                    layer=_describe(module),
                    output_shape=tuple(x.shape),
                    parameters=sum(p.numel() for p in module.parameters()),
                    weight_shapes=tuple((n, tuple(p.shape)) for n, p in module.named_parameters()),
                )
            )
    return stages


def _describe(module: nn.Module) -> str:
    extra = module.extra_repr()
    return f"{type(module).__name__}({extra})"


def model_code(config: ModelConfig) -> str:
    """The PyTorch source a student would write for this model, as in the course notes."""
    if config.kind == "softmax":
        return (
            "model = nn.Sequential(\n"
            "    nn.Flatten(),\n"
            f"    nn.Linear({config.in_features}, {config.num_classes}),  # softmax is inside nn.CrossEntropyLoss\n"
            ")"
        )
    if config.kind == "mlp":
        return (
            "model = nn.Sequential(\n"
            "    nn.Flatten(),\n"
            f"    nn.Linear({config.in_features}, {config.hidden}),\n"
            "    nn.ReLU(),\n"
            f"    nn.Linear({config.hidden}, {config.num_classes}),\n"
            ")"
        )
    c1, c2 = config.channels
    k = config.kernel_size
    side = config.input_size // 4
    return (
        "model = nn.Sequential(\n"
        f"    nn.Conv2d({config.in_channels}, {c1}, kernel_size={k}, padding={k // 2}),  # conv1\n"
        "    nn.ReLU(),                                   # relu1\n"
        "    nn.MaxPool2d(kernel_size=2, stride=2),       # pool1\n"
        f"    nn.Conv2d({c1}, {c2}, kernel_size={k}, padding={k // 2}),  # conv2\n"
        "    nn.ReLU(),                                   # relu2\n"
        "    nn.MaxPool2d(kernel_size=2, stride=2),       # pool2\n"
        "    nn.Flatten(),                                # flatten\n"
        f"    nn.Linear({c2 * side * side}, {config.hidden}),  # fc1\n"
        "    nn.ReLU(),                                   # relu3\n"
        f"    nn.Linear({config.hidden}, {config.num_classes}),  # fc2 (logits)\n"
        ")"
    )


def infer_config(state_dict: dict[str, torch.Tensor]) -> ModelConfig:
    """Guess the :class:`ModelConfig` of a bare ``state_dict`` from its names and shapes.

    Used for ``.pt`` files saved with ``torch.save(model.state_dict())`` that carry no
    metadata. Raises ValueError when the tensors match none of the app's models.
    """
    keys = set(state_dict)
    try:
        if keys == {"fc.weight", "fc.bias"}:
            classes, features = state_dict["fc.weight"].shape
            return ModelConfig(kind="softmax", num_classes=classes, **_square(features))
        if keys == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}:
            hidden, features = state_dict["fc1.weight"].shape
            classes = state_dict["fc2.weight"].shape[0]
            return ModelConfig(kind="mlp", num_classes=classes, hidden=hidden, **_square(features))
        cnn_keys = {f"{layer}.{p}" for layer in ("conv1", "conv2", "fc1", "fc2") for p in ("weight", "bias")}
        if keys == cnn_keys:
            c1, cin, k, _ = state_dict["conv1.weight"].shape
            c2 = state_dict["conv2.weight"].shape[0]
            hidden, features = state_dict["fc1.weight"].shape
            side = math.isqrt(features // c2) if features % c2 == 0 else 0
            return ModelConfig(
                kind="simplecnn",
                in_channels=cin,
                input_size=side * 4,
                num_classes=state_dict["fc2.weight"].shape[0],
                channels=(c1, c2),
                kernel_size=k,
                hidden=hidden,
            )
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"The weights do not describe one of the app's models ({exc}).") from None
    raise ValueError(
        "The weights do not match SimpleCNN, the MLP or softmax regression "
        f"(found layers: {', '.join(sorted(keys)[:8])}{' ...' if len(keys) > 8 else ''})."
    )


def _square(features: int) -> dict[str, int]:
    """in_channels and input_size for a flattened image of ``features`` pixels (1 or 3 channels)."""
    for channels in (1, 3):
        side = math.isqrt(features // channels)
        if features % channels == 0 and side * side * channels == features:
            return {"in_channels": channels, "input_size": side}
    raise ValueError(f"{features} inputs are not a square image")
