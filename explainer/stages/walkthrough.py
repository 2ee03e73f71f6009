"""The course example end to end: input → conv → ReLU → pool → flatten → fully connected → softmax.

Each page of the "Stages" section shows one link of this chain; the CLI's ``walkthrough``
prints all of it. With the defaults (the notes' 5×5 input and 3×3 kernel, MaxPool2d(2, 2,
padding=1), a seeded 4→3 layer) a student can redo every number by hand.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from .activation import ActivationResult, apply_activation
from .conv import ConvResult, ConvSettings, convolve
from .grid import COURSE_INPUT, COURSE_KERNEL, nested
from .linear import FlattenResult, LinearResult, flatten, linear, seeded_layer
from .pool import PoolResult, PoolSettings, pool
from .softmax import SoftmaxResult, softmax

COURSE_POOL = PoolSettings(kind="max", kernel=2, stride=2, padding=1)
COURSE_FC_OUTPUTS = 3
COURSE_FC_SEED = 0


@dataclass(frozen=True, eq=False)
class Walkthrough:
    conv: ConvResult
    relu: ActivationResult
    pool: PoolResult
    flatten: FlattenResult
    fc: LinearResult
    softmax: SoftmaxResult

    def to_json(self) -> dict[str, object]:
        """Plain numbers for every stage (what ``python -m explainer walkthrough --json`` prints)."""
        s, p = self.conv.settings, self.pool.settings
        return {
            "input": nested(self.conv.input),
            "kernel": nested(self.conv.kernel),
            "conv": {
                "stride": s.stride, "padding": s.padding, "dilation": s.dilation, "bias": s.bias,
                "output": nested(self.conv.output),
                "steps": [
                    {"row": w.out_row, "col": w.out_col, "products": nested(w.products), "sum": w.total}
                    for w in self.conv.windows
                ],
            },
            "relu": {"output": nested(self.relu.output), "zeroed": nested(self.relu.zeroed.to(torch.int64))},
            "pool": {
                "kind": p.kind, "kernel": p.kernel, "stride": p.stride, "padding": p.padding,
                "output": nested(self.pool.output),
            },
            "flatten": nested(self.flatten.vector),
            "fc": {"weight": nested(self.fc.weight), "bias": nested(self.fc.bias), "output": nested(self.fc.output)},
            "softmax": {
                "logits": nested(self.softmax.logits),
                "exp": nested(self.softmax.exps),
                "sum": self.softmax.total,
                "probabilities": nested(self.softmax.probabilities),
            },
        }


def walkthrough(
    x: object = COURSE_INPUT,
    kernel: object = COURSE_KERNEL,
    conv: ConvSettings | None = None,
    pool_settings: PoolSettings | None = None,
    fc_outputs: int = COURSE_FC_OUTPUTS,
    fc_seed: int = COURSE_FC_SEED,
    fc_weight: object | None = None,
    fc_bias: object | None = None,
    temperature: float = 1.0,
) -> Walkthrough:
    """Run the whole chain; every argument defaults to the course example."""
    conv_result = convolve(x, kernel, conv or ConvSettings())
    relu = apply_activation(conv_result.output, "relu")
    pooled = pool(relu.output, pool_settings or COURSE_POOL)
    flat = flatten(pooled.output)
    if fc_weight is None:
        fc_weight, seeded_bias = seeded_layer(fc_outputs, len(flat.vector), fc_seed)
        fc_bias = seeded_bias if fc_bias is None else fc_bias
    elif fc_bias is None:
        fc_bias = torch.zeros(len(fc_weight))
    fc = linear(flat.vector, fc_weight, fc_bias)
    return Walkthrough(conv_result, relu, pooled, flat, fc, softmax(fc.output, temperature))


@functools.cache
def course_walkthrough() -> Walkthrough:
    """The course example's whole chain, computed once per process.

    Every page that has no stage of the session's own yet starts from it, on every rerun of
    every student's tab; the result is shared, so it is only ever read.
    """
    return walkthrough()
