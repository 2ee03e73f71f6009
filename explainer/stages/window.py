"""What convolution and pooling share: a padded input, windows that slide over it, an output."""

from __future__ import annotations

import torch


class SlidingWindows:
    """Mixin for results with ``input``, ``settings.padding``, ``padded``, ``output`` and ``windows``."""

    input: torch.Tensor
    padded: torch.Tensor
    windows: tuple

    @property
    def steps(self) -> int:
        """How many windows, i.e. output cells, there are."""
        return len(self.windows)

    def padding_mask(self) -> torch.Tensor:
        """Bool ``[H + 2p, W + 2p]``: True on the cells the padding added around the input."""
        p = self.settings.padding  # type: ignore[attr-defined]
        h, w = self.input.shape
        mask = torch.ones(h + 2 * p, w + 2 * p, dtype=torch.bool)
        mask[p : p + h, p : p + w] = False
        return mask

    def is_padding(self, row: int, col: int) -> bool:
        """True when padded-input cell (row, col) was added by the padding, not part of the input."""
        return bool(self.padding_mask()[row, col])
