"""The teaching models: SimpleCNN and the two baselines of the course notes.

Every model is built from *named stage modules* registered in the order the data flows
through them, and ``forward`` calls them in exactly that order. That is what lets the
forward-pass trace, Grad-CAM and guided backprop find a layer by its name (``conv1``,
``relu2``, ...), and what lets :func:`list_stages` describe any of them.

The three models share one interface: ``Model(config, seed=None)`` where ``config`` is a
frozen :class:`ModelConfig` (``seed`` seeds the dropout masks); they take a batch
``[N, C, H, W]`` and return logits ``[N, classes]``. What a class may change before training
(1 to 3 convolution blocks, kernel, padding, activation, hidden width, dropout) and the sizes
that follow from it live in :mod:`explainer.architecture`.
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
import functools
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .architecture import (
    ACTIVATION_LAYERS,
    ACTIVATIONS,
    KERNEL_SIZES,
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_HIDDEN,
    PADDINGS,
    ArchitectureError,
    activation_name,
    check_choice,
    check_range,
    check_sizes,
    flat_features,
    padding_of,
)
from .architecture import infer_config, map_sizes, model_code  # noqa: F401 - re-exported: the names callers know

DEFAULT_KIND = "simplecnn"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored as JSON in every checkpoint.

    ``channels`` (1 to 3 convolution blocks), ``kernel_size`` and ``padding`` ("same" or
    "valid") only matter for SimpleCNN; ``hidden`` is the width of the fully connected hidden
    layer (SimpleCNN, MLP; 0 gives SimpleCNN none) and is ignored by softmax regression, as
    are ``activation`` (one of :data:`ACTIVATIONS`) and ``dropout`` (the probability of
    dropping a unit before the last Linear layer while training). A combination whose maps
    would shrink below 1×1 raises :class:`~explainer.architecture.ArchitectureError`.
    """

    kind: str = DEFAULT_KIND
    in_channels: int = 1
    input_size: int = 28
    num_classes: int = 10
    channels: tuple[int, ...] = (8, 16)
    kernel_size: int = 3
    hidden: int = -1  # -1: the default width of this kind
    padding: str = "same"
    activation: str = "relu"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"Unknown model kind {self.kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
        if self.hidden == -1:
            object.__setattr__(self, "hidden", KINDS[self.kind].hidden)
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "dropout", float(self.dropout))
        if not 1 <= len(self.channels) <= MAX_BLOCKS:
            raise ArchitectureError("err.arch_blocks", n=len(self.channels), most=MAX_BLOCKS)
        _require(1 <= self.in_channels <= 4, "in_channels must be between 1 and 4.")
        _require(2 <= self.num_classes <= 1000, "num_classes must be between 2 and 1000.")
        _require(4 <= self.input_size <= 512, "input_size must be between 4 and 512.")
        check_choice(self.activation, ACTIVATIONS)
        check_choice(self.padding, PADDINGS)
        if not 0 <= self.dropout < 1:  # also refuses NaN
            raise ArchitectureError("err.arch_dropout", value=f"{self.dropout:g}")
        if self.kind == "simplecnn":
            for c in self.channels:
                check_range(c, 1, MAX_CHANNELS, "model.field.channels")
            if self.kernel_size not in KERNEL_SIZES:
                raise ArchitectureError("err.arch_kernel_size", value=self.kernel_size)
            check_range(self.hidden, 0, MAX_HIDDEN, "model.field.hidden")
            check_sizes(self)
        elif self.kind != "softmax":
            check_range(self.hidden, 1, MAX_HIDDEN, "model.field.hidden")

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
        """Rebuild a config from :meth:`to_dict` output; unknown or ill-typed fields raise ValueError.

        A field that is missing takes its default: checkpoints written before a field existed
        (``padding``, ``activation``, ``dropout``) load as the model they were.
        """
        if not isinstance(data, dict):
            raise ValueError("The model configuration must be a JSON object.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown model configuration fields: {', '.join(sorted(unknown))}.")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in _TEXT_FIELDS:
                if not isinstance(value, str):
                    raise ValueError(f"{key} must be text.")
                kwargs[key] = value
            elif key == "channels":
                if not (isinstance(value, (list, tuple)) and all(_is_int(v) for v in value)):
                    raise ValueError("channels must be a list of whole numbers.")
                kwargs[key] = tuple(value)
            elif key == "dropout":
                if not (_is_int(value) or isinstance(value, float)):
                    raise ValueError("dropout must be a number.")
                kwargs[key] = float(value)
            else:
                if not _is_int(value):
                    raise ValueError(f"{key} must be a whole number.")
                kwargs[key] = value
        return cls(**kwargs)


_TEXT_FIELDS = ("kind", "padding", "activation")


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


DEFAULT_DROPOUT_SEED = 0  # the dropout masks' seed of a model built without one


class _Masks:
    """The dropout masks' own random numbers: one ``torch.Generator`` per device, seeded once.

    PyTorch's global generator is shared by every thread of the process; drawing the masks
    from it would let another student's thread change them. A copied model (``copy.deepcopy``)
    continues from the same state.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._generators: dict[torch.device, torch.Generator] = {}

    def keep(self, x: torch.Tensor, p: float) -> torch.Tensor:
        """A 0/1 mask shaped like ``x``: each unit kept with probability ``1 − p``."""
        generator = self._generators.get(x.device)
        if generator is None:
            generator = self._generators[x.device] = torch.Generator(device=x.device).manual_seed(self.seed)
        return torch.empty_like(x).bernoulli_(1 - p, generator=generator)

    def __deepcopy__(self, memo: dict) -> _Masks:
        twin = _Masks(self.seed)
        for device, generator in self._generators.items():
            twin._generators[device] = torch.Generator(device=device)
            twin._generators[device].set_state(generator.get_state())
        return twin


class _Chain(nn.Module):
    """A model whose ``forward`` runs its named stages in the order they were registered.

    Dropout is applied right before the last Linear layer, only in training mode, as a
    function inside ``forward`` — not as a stage. Every explanation (the forward trace,
    Grad-CAM, the overview, the loss landscape) hooks the named stages and runs in
    ``eval()`` mode, where dropout is the identity; in ``train()`` mode each unit is zeroed
    with probability ``p`` and the others are scaled by ``1 / (1 − p)``, the masks drawn
    from the model's own generator (seeded by :func:`build_model`).
    """

    dropout: float = 0.0

    def __init__(self, seed: int | None = None) -> None:
        super().__init__()
        self._masks = _Masks(DEFAULT_DROPOUT_SEED if seed is None else seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *stages, last = self.children()
        for stage in stages:
            x = stage(x)
        if self.training and self.dropout > 0:
            x = x * self._masks.keep(x, self.dropout) / (1 - self.dropout)
        return last(x)


class SimpleCNN(_Chain):
    """1 to 3 blocks Conv2d → activation → MaxPool2d, then Flatten → Linear → activation → Linear.

    Shapes with the default config (two blocks of 8 and 16 channels, 3×3 kernels, padding 1)::

        [N,1,28,28] -conv1-> [N,8,28,28] -pool1-> [N,8,14,14]
                    -conv2-> [N,16,14,14] -pool2-> [N,16,7,7] -flatten-> [N,784]
                    -fc1-> [N,64] -fc2-> [N,10] (logits)

    Same padding ``k // 2`` keeps the spatial size through each convolution
    (``out = (n + 2p − k) / s + 1 = n``), so only the poolings halve it; valid padding (0)
    takes ``k − 1`` off every convolution. The stages are ``conv{i}``, ``relu{i}`` (or
    ``sigmoid{i}``, ``tanh{i}``) and ``pool{i}`` per block, ``flatten``, then ``fc1``, the
    hidden activation (numbered after the blocks: ``relu3`` for two) and ``fc2`` — or, with
    ``hidden = 0``, a single ``fc``.
    """

    def __init__(self, config: ModelConfig | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        self.config = config = _config_of_kind(config, "simplecnn", "SimpleCNN")
        self.dropout = config.dropout
        k, p = config.kernel_size, padding_of(config.kernel_size, config.padding)
        activation = ACTIVATION_LAYERS[config.activation]
        channels = (config.in_channels, *config.channels)
        for i in range(1, len(channels)):
            self.add_module(f"conv{i}", nn.Conv2d(channels[i - 1], channels[i], kernel_size=k, padding=p))
            self.add_module(activation_name(config, i), activation())
            self.add_module(f"pool{i}", nn.MaxPool2d(kernel_size=2, stride=2))
        self.flatten = nn.Flatten()
        features = flat_features(config)
        if config.hidden > 0:
            self.fc1 = nn.Linear(features, config.hidden)
            self.add_module(activation_name(config, len(channels)), activation())
            self.fc2 = nn.Linear(config.hidden, config.num_classes)
        else:
            self.fc = nn.Linear(features, config.num_classes)


class MLP(_Chain):
    """The course's multilayer perceptron: Flatten → Linear(784, 256) → ReLU → Linear(256, 10).

    The activation may be ``sigmoid1`` or ``tanh1`` instead, with dropout before ``fc2``.
    """

    def __init__(self, config: ModelConfig | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        self.config = config = _config_of_kind(config, "mlp", "MLP")
        self.dropout = config.dropout
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(config.in_features, config.hidden)
        self.add_module(activation_name(config, 1), ACTIVATION_LAYERS[config.activation]())
        self.fc2 = nn.Linear(config.hidden, config.num_classes)


class SoftmaxRegression(nn.Module):
    """Softmax regression from the course: Flatten → Linear(784, 10); softmax lives in the loss.

    ``p = softmax(W·x + b)``, trained with cross-entropy ``−log p_y``.
    """

    def __init__(self, config: ModelConfig | None = None, seed: int | None = None) -> None:
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
    """A freshly initialised model for ``config``; with ``seed`` the initial weights are repeatable.

    ``seed`` also seeds the model's own dropout masks (a fixed seed when None), so that a
    training run with dropout repeats exactly.
    """
    if seed is None:
        return KINDS[config.kind].module(config)
    with seeded(seed):
        return KINDS[config.kind].module(config, seed=seed)


def model_config(model: nn.Module) -> ModelConfig:
    """The :class:`ModelConfig` a model was built from."""
    config = getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError("This is not one of the app's models (it has no ModelConfig).")
    return config


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's convolution stages (``conv1`` … ``conv3``); empty for the MLP and softmax regression."""
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


def architecture_stages(config: ModelConfig) -> list[StageInfo]:
    """The stages of the model ``config`` describes, with their output shapes and parameter counts, before training.

    The model is built on PyTorch's ``meta`` device: shapes without numbers, so no weights
    are initialised or stored and it stays cheap for the largest architecture.
    """
    return list(_stages_of(config))


@functools.lru_cache(maxsize=64)
def _stages_of(config: ModelConfig) -> tuple[StageInfo, ...]:
    """One description per architecture (~5 ms to build; the Train page shows it on every rerun)."""
    with torch.device("meta"):
        model = KINDS[config.kind].module(config)
    return tuple(list_stages(model))
