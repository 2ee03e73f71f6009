"""The range and default of a setting, declared once next to the code that uses it; widgets read it.

    STRIDE = Bound(0, MAX_STRIDE, 1)
    st.number_input(tr("conv.stride"), **STRIDE.widget, key="conv_stride", bind="query-params")

A widget may offer a little more than the computation accepts (a stride of 0), so that a
student sees the clear message that refuses it; the library's own checks stay where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """``low ≤ value ≤ high``, starting at ``default``, moved by ``step`` (None: the widget's own step)."""

    low: int | float
    high: int | float
    default: int | float
    step: int | float | None = None

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ValueError(f"default {self.default} outside [{self.low}, {self.high}]")

    @property
    def widget(self) -> dict[str, Any]:
        """Keyword arguments of ``st.slider`` / ``st.number_input``: ``min_value``, ``max_value``, ``value`` (``step``)."""
        kwargs: dict[str, Any] = {"min_value": self.low, "max_value": self.high, "value": self.default}
        if self.step is not None:
            kwargs["step"] = self.step
        return kwargs

    def clamp(self, value: int | float) -> int | float:
        """``value`` moved into the range."""
        return min(max(value, self.low), self.high)
