"""What a SimpleCNN's settings make of an image: the side of every map, and the code a student would write.

A class can change the architecture before training: 1 to 3 convolution blocks, the kernel
size, the padding, the activation function, the hidden width and dropout. Each block is
``Conv2d → activation → MaxPool2d(2, 2)``; with ``n`` the side of its input,

    conv: n + 2p − k + 1   (same padding p = k // 2 keeps n; valid padding p = 0 loses k − 1)
    pool: ⌊n / 2⌋

:func:`map_sizes` follows the side through the blocks; a combination that leaves a map
smaller than 1×1, or a kernel larger than its padded input, is refused with an
:class:`ArchitectureError` that shows the sizes. :func:`model_code` writes the same model
as the ``nn.Sequential`` of the course notes; :func:`infer_config` reads the architecture
back from a bare ``state_dict``.

    >>> [f"{name} {side}" for name, side in map_sizes(ModelConfig(channels=(4, 8, 8), padding="valid"))]
    ['input 28', 'conv1 26', 'pool1 13', 'conv2 11', 'pool2 5', 'conv3 3', 'pool3 1']

The catalog names every option: ``model.activation.<name>`` and ``model.padding.<name>``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from .i18n import LocalizedError, Msg

if TYPE_CHECKING:
    from .model import ModelConfig

ACTIVATION_LAYERS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
ACTIVATIONS: tuple[str, ...] = tuple(ACTIVATION_LAYERS)
PADDINGS: tuple[str, ...] = ("same", "valid")
KERNEL_SIZES: tuple[int, ...] = (1, 3, 5, 7)
MAX_BLOCKS = 3
MAX_CHANNELS = 512
MAX_HIDDEN = 8192


class ArchitectureError(LocalizedError):
    """An architecture that cannot be built; the message says why, with the sizes, in the reader's language."""


def padding_of(kernel_size: int, padding: str) -> int:
    """The zeros added on each side: ``k // 2`` for same padding (the size is kept), 0 for valid."""
    return kernel_size // 2 if padding == "same" else 0


def map_sizes(config: ModelConfig) -> list[tuple[str, int]]:
    """The side of the maps after every stage of the convolution blocks, starting with the input.

    SimpleCNN ``(8, 16)``, 3×3, same padding: ``[("input", 28), ("conv1", 28), ("pool1", 14),
    ("conv2", 14), ("pool2", 7)]``; the MLP and softmax regression only have ``("input", n)``.
    For a combination that does not fit, the list ends at the first stage below 1×1 (side 0).
    """
    if config.kind != "simplecnn":
        return [("input", config.input_size)]
    return block_sizes(config.input_size, len(config.channels), config.kernel_size, config.padding)


def block_sizes(input_size: int, blocks: int, kernel_size: int, padding: str) -> list[tuple[str, int]]:
    """:func:`map_sizes` from the plain numbers: ``blocks`` convolution blocks on an ``input_size`` image."""
    side = input_size
    sizes = [("input", side)]
    k, p = kernel_size, padding_of(kernel_size, padding)
    for block in range(1, blocks + 1):
        side = side + 2 * p - k + 1
        sizes.append((f"conv{block}", max(side, 0)))
        if side < 1:
            break
        side //= 2
        sizes.append((f"pool{block}", side))
        if side < 1:
            break
    return sizes


def check_sizes(config: ModelConfig) -> list[tuple[str, int]]:
    """:func:`map_sizes`, or an :class:`ArchitectureError` when a map would shrink below 1×1."""
    sizes = map_sizes(config)
    name, side = sizes[-1]
    if side >= 1:
        return sizes
    if name.startswith("conv"):
        k, p = config.kernel_size, padding_of(config.kernel_size, config.padding)
        before = sizes[-2][1]
        raise ArchitectureError("err.arch_kernel_too_big", k=k, stage=name, side=before, padding=p,
                                padded=before + 2 * p, sizes=sizes_text(sizes[:-1]))
    raise ArchitectureError("err.arch_too_small", sizes=sizes_text(sizes))


def sizes_text(sizes: list[tuple[str, int]]) -> str:
    """:func:`map_sizes` as a student reads it: ``28 → conv1 24 → pool1 12``."""
    return " → ".join(str(side) if name == "input" else f"{name} {side}" for name, side in sizes)


def check_choice(value: object, choices: tuple) -> None:
    """Refuse a value that is not one of ``choices`` (an activation, a padding)."""
    if value not in choices:
        raise ArchitectureError("err.unknown_choice", value=str(value)[:30], choices=", ".join(str(c) for c in choices))


def check_range(value: float, low: float, high: float, name_key: str) -> None:
    """Refuse a number outside ``low … high``; ``name_key`` is how the sentence names it."""
    if not low <= value <= high:
        raise ArchitectureError("err.out_of_range", name=Msg(name_key), low=low, high=high, value=value)


def flat_features(config: ModelConfig) -> int:
    """The length of the vector after ``flatten``: the last block's maps (SimpleCNN) or the image's pixels."""
    if config.kind != "simplecnn":
        return config.in_features
    side = map_sizes(config)[-1][1]
    return config.channels[-1] * side * side


def activation_name(config: ModelConfig, index: int) -> str:
    """The name of an activation stage: ``relu1``, ``sigmoid2``, ``tanh3`` ..."""
    return f"{config.activation}{index}"


def model_code(config: ModelConfig) -> str:
    """The ``nn.Sequential`` a student would write for this model, each line commented with its stage's name."""
    act = f"nn.{ACTIVATION_LAYERS[config.activation].__name__}()"
    if config.kind == "softmax":
        return _sequential([("nn.Flatten()", "flatten"), (f"nn.Linear({config.in_features}, {config.num_classes})",
                                                          "fc (softmax is inside nn.CrossEntropyLoss)")])
    lines: list[tuple[str, str]] = []
    if config.kind == "simplecnn":
        k, p = config.kernel_size, padding_of(config.kernel_size, config.padding)
        channels = (config.in_channels, *config.channels)
        for block in range(1, len(channels)):
            lines += [(f"nn.Conv2d({channels[block - 1]}, {channels[block]}, kernel_size={k}, padding={p})", f"conv{block}"),
                      (act, activation_name(config, block)),
                      ("nn.MaxPool2d(kernel_size=2, stride=2)", f"pool{block}")]
    lines.append(("nn.Flatten()", "flatten"))
    features = flat_features(config)
    hidden_index = len(config.channels) + 1 if config.kind == "simplecnn" else 1
    if config.hidden > 0:
        lines += [(f"nn.Linear({features}, {config.hidden})", "fc1"), (act, activation_name(config, hidden_index))]
        features, last = config.hidden, "fc2"
    else:
        last = "fc"
    if config.dropout > 0:
        lines.append((f"nn.Dropout({config.dropout:g})", "only while training (model.train())"))
    lines.append((f"nn.Linear({features}, {config.num_classes})", f"{last} (logits)"))
    return _sequential(lines)


def _sequential(lines: list[tuple[str, str]]) -> str:
    width = max(len(code) for code, _ in lines) + 1
    body = "".join(f"    {(code + ',').ljust(width)}  # {comment}\n" for code, comment in lines)
    return f"model = nn.Sequential(\n{body})"


def infer_config(state_dict: dict[str, torch.Tensor]) -> ModelConfig:
    """Guess the :class:`ModelConfig` of a bare ``state_dict`` from its names and shapes.

    Used for ``.pt`` files saved with ``torch.save(model.state_dict())`` that carry no
    metadata. SimpleCNN's blocks, kernel, channels and classifier come from the weights'
    names and shapes; its padding and input size from the length of the flattened vector
    (28×28 and same padding preferred when several fit). The activation and dropout leave no
    trace in the weights: they take their defaults. Raises ValueError when the tensors match
    none of the app's models.
    """
    from .model import ModelConfig  # the config needs this module's checks; it is asked for here only

    keys = set(state_dict)
    try:
        if keys == {"fc.weight", "fc.bias"}:
            classes, features = state_dict["fc.weight"].shape
            return ModelConfig(kind="softmax", num_classes=classes, **_square(features))
        if keys == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}:
            hidden, features = state_dict["fc1.weight"].shape
            classes = state_dict["fc2.weight"].shape[0]
            return ModelConfig(kind="mlp", num_classes=classes, hidden=hidden, **_square(features))
        blocks = sum(1 for key in keys if key.startswith("conv") and key.endswith(".weight"))
        head = ("fc1", "fc2") if "fc1.weight" in keys else ("fc",)
        layers = [f"conv{i}" for i in range(1, blocks + 1)] + list(head)
        if 1 <= blocks <= MAX_BLOCKS and keys == {f"{layer}.{p}" for layer in layers for p in ("weight", "bias")}:
            _, cin, k, _ = state_dict["conv1.weight"].shape
            channels = tuple(int(state_dict[f"conv{i}.weight"].shape[0]) for i in range(1, blocks + 1))
            out, features = state_dict[f"{head[0]}.weight"].shape
            hidden = out if len(head) == 2 else 0
            return _fitting_cnn(cin, channels, k, hidden, int(state_dict[f"{head[-1]}.weight"].shape[0]), features)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"The weights do not describe one of the app's models ({exc}).") from None
    raise ValueError(
        "The weights do not match SimpleCNN, the MLP or softmax regression "
        f"(found layers: {', '.join(sorted(keys)[:8])}{' ...' if len(keys) > 8 else ''})."
    )


def _fitting_cnn(in_channels: int, channels: tuple[int, ...], k: int, hidden: int, classes: int,
                 features: int) -> ModelConfig:
    """The SimpleCNN whose flattened vector has ``features`` numbers: 28×28 and same padding first."""
    fitting = []
    for size in range(4, 513):
        for padding in PADDINGS:
            side = block_sizes(size, len(channels), k, padding)[-1][1]
            if side >= 1 and channels[-1] * side * side == features:
                fitting.append((size != 28, padding != "same", size, padding))
    if not fitting:
        raise ValueError(f"no input size gives {features} numbers after the convolutions")
    _, _, size, padding = min(fitting)
    from .model import ModelConfig

    return ModelConfig(kind="simplecnn", in_channels=in_channels, input_size=size, num_classes=classes,
                       channels=channels, kernel_size=k, hidden=hidden, padding=padding)


def _square(features: int) -> dict[str, int]:
    """in_channels and input_size for a flattened image of ``features`` pixels (1 or 3 channels)."""
    for channels in (1, 3):
        side = math.isqrt(features // channels)
        if features % channels == 0 and side * side * channels == features:
            return {"in_channels": channels, "input_size": side}
    raise ValueError(f"{features} inputs are not a square image")
