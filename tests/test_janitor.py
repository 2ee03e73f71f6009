"""The memory janitor: a sweep frees what only reference cycles kept alive, even with Python's
automatic collection off, and never needs a running server."""

import gc
import weakref

import torch

from explainer.ui.janitor import sweep


class Holder:
    pass


def test_a_sweep_frees_a_dead_cycle_without_a_server():
    gc.disable()
    try:
        a, b = Holder(), Holder()
        a.other, b.other = b, a  # a cycle: only a full collection can free it
        a.weights = torch.zeros(1000, 1000)
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None
        sweep()
        assert alive() is None
    finally:
        gc.enable()
