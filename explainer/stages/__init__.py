"""The stages of a CNN on numbers small enough to check by hand.

Pure functions that return every intermediate — windows, element-wise products, sums,
exponentials — as tensors and frozen dataclasses; the figures are built elsewhere.
All arithmetic is in float64 so that what the page shows is exactly what was computed.
"""

from .activation import ACTIVATIONS, ActivationResult, GradientFlow, activate, apply_activation, curves, derivative, gradient_flow
from .conv import ConvResult, ConvSettings, ConvWindow, conv2d_reference, conv_code, conv_output_size, convolve
from .grid import (
    COURSE_INPUT,
    COURSE_KERNEL,
    INPUT_PRESETS,
    KERNEL_PRESETS,
    GridError,
    as_grid,
    as_vector,
    fmt,
    fmt_exact,
    grid_text,
    input_preset,
    kernel_preset,
    parse_grid_text,
    parse_vector_text,
    resize,
)
from .linear import (
    COURSE_BATCH_W,
    COURSE_BATCH_X,
    FlattenResult,
    LinearResult,
    batch_product,
    flatten,
    layer_shapes,
    linear,
    linear_reference,
    seeded_layer,
)
from .pool import POOL_KINDS, PoolResult, PoolSettings, PoolWindow, pool, pool_code, pool_output_size, pool_reference
from .softmax import CrossEntropy, Hinge, LossRow, SoftmaxResult, cross_entropy, hinge, loss_table, softmax, softmax_reference
from .walkthrough import COURSE_POOL, Walkthrough, course_walkthrough, walkthrough

__all__ = [
    "ACTIVATIONS", "COURSE_BATCH_W", "COURSE_BATCH_X", "COURSE_INPUT", "COURSE_KERNEL", "COURSE_POOL", "INPUT_PRESETS",
    "KERNEL_PRESETS", "POOL_KINDS", "ActivationResult", "ConvResult", "ConvSettings", "ConvWindow", "CrossEntropy",
    "FlattenResult", "GradientFlow", "GridError", "Hinge", "LinearResult", "LossRow", "PoolResult", "PoolSettings",
    "PoolWindow", "SoftmaxResult", "Walkthrough", "activate", "apply_activation", "as_grid", "as_vector", "batch_product",
    "conv2d_reference", "conv_code", "conv_output_size", "convolve", "cross_entropy", "curves", "derivative", "flatten",
    "fmt", "fmt_exact", "gradient_flow", "grid_text", "hinge", "input_preset", "kernel_preset", "layer_shapes", "linear",
    "linear_reference", "loss_table", "parse_grid_text", "parse_vector_text", "pool", "pool_code", "pool_output_size",
    "course_walkthrough", "pool_reference", "resize", "seeded_layer", "softmax", "softmax_reference", "walkthrough",
]
