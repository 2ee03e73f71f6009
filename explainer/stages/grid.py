"""Small grids of numbers a student can check by hand: validation, parsing and presets.

Every stage works on ``float64`` tensors so that the numbers on screen are exactly the
numbers of the arithmetic (no float32 rounding such as 0.1 + 0.2 = 0.30000001).
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import numpy as np
import torch

from ..bounds import Bound
from ..i18n import LocalizedError, Msg

DTYPE = torch.float64
MAX_SIDE = 32  # the pages use up to 10; the CLI may go a little further
MAX_ABS = 1e6  # numbers a student types; beyond this the pictures stop meaning anything

# The course example: a 5×5 input and a 3×3 kernel set by hand on nn.Conv2d(1, 1, 3, bias=False).
COURSE_INPUT = (
    (3, 3, 2, 1, 0),
    (2, 3, 2, 1, 0),
    (3, 3, 2, 1, 0),
    (4, 3, 2, 1, 0),
    (1, 3, 2, 1, 0),
)
COURSE_KERNEL = (
    (0, 1, 2),
    (2, 2, 0),
    (0, 1, 2),
)

PRESET_SEED = Bound(0, 9999, 0)  # the random presets' seed, as the convolution page offers it
INPUT_PRESETS: tuple[str, ...] = ("course", "vertical_line", "horizontal_line", "diagonal", "checker", "random")
KERNEL_PRESETS: tuple[str, ...] = ("course", "identity", "box_blur", "sharpen", "horizontal_edge", "vertical_edge", "random")


class GridError(LocalizedError):
    """A grid that cannot be used, with the place of the first bad cell when there is one."""


def as_grid(values: Any, name: str = "grid", max_side: int = MAX_SIDE) -> torch.Tensor:
    """``values`` (nested lists, array or tensor) as a 2-D float64 tensor, or GridError saying why.

    Refused: ragged rows, empty grids, more than ``max_side`` rows or columns, and any cell
    that is not a finite number of at most 1,000,000 in size (the message names the cell,
    counted from 1 as a student would).
    """
    if isinstance(values, torch.Tensor):
        rows = values.detach().cpu().tolist()
    elif isinstance(values, np.ndarray):
        rows = values.tolist()
    else:
        rows = values
    label = _name(name)
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in rows):
        raise GridError("err.grid_not_2d", name=label)
    if not rows or len(rows[0]) == 0:
        raise GridError("err.grid_empty", name=label)
    width = len(rows[0])
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise GridError("err.grid_ragged", name=label, row=i, got=len(row), want=width)
    if len(rows) > max_side or width > max_side:
        raise GridError("err.grid_too_big", name=label, rows=len(rows), cols=width, max=max_side)
    out = []
    for i, row in enumerate(rows, start=1):
        out.append([_cell(v, name, i, j) for j, v in enumerate(row, start=1)])
    return torch.tensor(out, dtype=DTYPE)


def as_vector(values: Any, name: str = "vector", max_len: int = 1024) -> torch.Tensor:
    """A 1-D float64 tensor with the same checks as :func:`as_grid`."""
    if isinstance(values, (torch.Tensor, np.ndarray)):
        values = values.tolist()
    label = _name(name)
    if not isinstance(values, (list, tuple)):
        raise GridError("err.vector_not_list", name=label)
    if not values:
        raise GridError("err.vector_empty", name=label)
    if len(values) > max_len:
        raise GridError("err.vector_too_long", name=label, n=len(values), max=max_len)
    return torch.tensor([_cell(v, name, 0, j) for j, v in enumerate(values, start=1)], dtype=DTYPE)


def _name(name: str | Msg) -> Msg:
    """Names of grids are catalog keys (``name.input``); a plain word is used as it is."""
    if isinstance(name, Msg):
        return name
    return Msg(f"name.{name}") if f"name.{name}" in _known_names() else Msg("name.plain", text=name)


@functools.cache
def _known_names() -> frozenset[str]:
    """The grid names the catalog knows (read once: the catalog does not change while the app runs)."""
    from ..i18n import catalog

    return frozenset(k for k in catalog("en") if k.startswith("name."))


def _cell(value: Any, name: str | Msg, row: int, col: int) -> float:
    """One number; ``row`` 0 means a vector, whose cells are named by position alone."""
    def where() -> Msg:  # built only for a message: a grid has up to 100 cells, checked on every rerun
        label = _name(name)
        return Msg("err.where_position", col=col, name=label) if row == 0 else Msg("err.where_cell", row=row, col=col, name=label)

    if isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_ABS:
        return value + 0.0  # the common case, from the grid editor
    if value is None or (isinstance(value, str) and not value.strip()):
        raise GridError("err.cell_empty", where=where())
    if isinstance(value, bool):
        raise GridError("err.cell_not_number", where=where(), value=str(value))
    try:
        number = float(value.strip().replace("−", "-")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise GridError("err.cell_not_number", where=where(), value=repr(str(value)[:20])) from None
    if math.isnan(number):
        raise GridError("err.cell_nan", where=where())
    if math.isinf(number) or abs(number) > MAX_ABS:
        raise GridError("err.cell_too_large", where=where(), value=str(value)[:20])
    return number + 0.0  # turns -0.0 into 0.0


_SPLIT_ROWS = re.compile(r"[;\n]+")
_SPLIT_CELLS = re.compile(r"[,\s\t]+")


def parse_grid_text(text: str, name: str = "grid", max_side: int = MAX_SIDE) -> torch.Tensor:
    """Parse a grid typed or pasted by a student.

    Accepted: one row per line (or rows separated by ``;``) with numbers separated by spaces,
    commas or tabs — ``"3 3 2\\n2 3 2"`` — or JSON such as ``[[3, 3, 2], [2, 3, 2]]``.
    """
    if not isinstance(text, str) or len(text) > 20_000:
        raise GridError("err.text_invalid", name=_name(name))
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return as_grid(json.loads(stripped), name, max_side)
        except json.JSONDecodeError:
            pass  # e.g. "[3 3 2]" rows pasted from a printout: read them as plain rows
    rows = [r.strip().strip("[]") for r in _SPLIT_ROWS.split(stripped) if r.strip().strip("[]").strip()]
    cells = [[c for c in _SPLIT_CELLS.split(r.strip()) if c] for r in rows]
    return as_grid(cells, name, max_side)


def parse_vector_text(text: str, name: str = "vector", max_len: int = 64) -> torch.Tensor:
    """Numbers separated by spaces or commas (or a JSON list) as a 1-D float64 tensor."""
    if not isinstance(text, str) or len(text) > 20_000:
        raise GridError("err.text_invalid", name=_name(name))
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return as_vector(json.loads(stripped), name, max_len)
        except json.JSONDecodeError:
            stripped = stripped.strip("[]")
    return as_vector([c for c in re.split(r"[,;\s]+", stripped) if c], name, max_len)


def grid_text(grid: torch.Tensor, digits: int = 3) -> str:
    """The inverse of :func:`parse_grid_text`: one row per line, numbers as short as exact (to ``digits`` decimals)."""
    return "\n".join(" ".join(fmt(v, digits) for v in row) for row in grid.tolist())


def fmt(value: float, digits: int = 3) -> str:
    """A number as a student writes it: ``2``, ``-0.5``, ``0.333``, ``-∞``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    rounded = round(value, digits)
    if rounded == 0:
        return "0"
    if rounded == int(rounded) and abs(rounded) < 1e15:
        return str(int(rounded))
    return f"{rounded:.{digits}f}".rstrip("0").rstrip(".")


def fmt_exact(value: float, digits: int = 3, most: int = 9) -> str:
    """:func:`fmt`, but a number that is not whole never shows as one: sigmoid(14) = ``0.9999992``, not ``1``;
    ``0.0001`` not ``0`` (up to ``most`` decimals). The outputs of sigmoid and tanh approach 1 and 0 without
    reaching them, and a class must not read them as reached."""
    text = fmt(value, digits)
    while digits < most and math.isfinite(value) and value != round(value) and round(value, digits) == round(value):
        digits += 1
        text = fmt(value, digits)
    return text


def input_preset(name: str, size: int = 5, seed: int = 0) -> torch.Tensor:
    """An input grid: the course example (always 5×5) or a pattern of ``size``×``size``."""
    _check_side(size, "input", 1, MAX_SIDE)
    n = size
    if name == "course":
        return torch.tensor(COURSE_INPUT, dtype=DTYPE)
    if name == "vertical_line":
        grid = torch.zeros(n, n, dtype=DTYPE)
        grid[:, n // 2] = 9
        return grid
    if name == "horizontal_line":
        grid = torch.zeros(n, n, dtype=DTYPE)
        grid[n // 2, :] = 9
        return grid
    if name == "diagonal":
        return torch.eye(n, dtype=DTYPE) * 9
    if name == "checker":
        idx = torch.arange(n)
        return ((idx[:, None] + idx[None, :]) % 2).to(DTYPE) * 9
    if name == "random":
        gen = torch.Generator().manual_seed(seed)
        return torch.randint(0, 10, (n, n), generator=gen).to(DTYPE)
    raise LocalizedError("err.unknown_choice", value=str(name)[:30], choices=", ".join(INPUT_PRESETS))


def kernel_preset(name: str, size: int = 3, seed: int = 0) -> torch.Tensor:
    """A kernel of ``size``×``size``: the course kernel (always 3×3), a classic filter, or random.

    Edge detectors are Sobel filters at 3×3 and Prewitt-like (−1 above / +1 below the
    middle) at other sizes; sharpen is the classic cross at 3×3 and ``2·identity − blur``
    elsewhere. A 1×1 kernel has no edges: those presets need at least 2×2.
    """
    _check_side(size, "kernel", 1, 7)
    k = size
    if name == "course":
        return torch.tensor(COURSE_KERNEL, dtype=DTYPE)
    if name == "identity":
        grid = torch.zeros(k, k, dtype=DTYPE)
        grid[k // 2, k // 2] = 1
        return grid
    if name == "box_blur":
        return torch.full((k, k), 1.0 / (k * k), dtype=DTYPE)
    if name == "sharpen":
        if k == 3:
            return torch.tensor([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=DTYPE)
        return 2 * kernel_preset("identity", k) - kernel_preset("box_blur", k)
    if name in ("horizontal_edge", "vertical_edge"):
        if k < 2:
            raise LocalizedError("err.edges_need_two")
        if k == 3:
            grid = torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=DTYPE)
        else:
            grid = torch.zeros(k, k, dtype=DTYPE)
            grid[: k // 2] = -1
            grid[(k + 1) // 2 :] = 1
        return grid if name == "horizontal_edge" else grid.T.contiguous()
    if name == "random":
        gen = torch.Generator().manual_seed(seed)
        return torch.randint(-2, 3, (k, k), generator=gen).to(DTYPE)
    raise LocalizedError("err.unknown_choice", value=str(name)[:30], choices=", ".join(KERNEL_PRESETS))


def resize(grid: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Keep the top-left part of ``grid`` and fill new cells with 0 (for a size slider)."""
    out = torch.zeros(rows, cols, dtype=DTYPE)
    r, c = min(rows, grid.shape[0]), min(cols, grid.shape[1])
    out[:r, :c] = grid[:r, :c]
    return out


def _check_side(size: int, what: str, low: int, high: int) -> None:
    check_int(size, Msg("setting.size", name=_name(what)), low, high)


def nested(t: torch.Tensor) -> list:
    """Plain Python numbers (for JSON): a tensor as nested lists of floats."""
    return t.detach().cpu().tolist()


def check_int(value: Any, name: Msg, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``, or LocalizedError naming the setting."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise LocalizedError("err.not_whole", name=name, value=repr(str(value)[:20]))
    value = int(value)
    if not low <= value <= high:
        raise LocalizedError("err.out_of_range", name=name, low=low, high=high, value=value)
    return value


def check_number(value: Any, name: Msg) -> float:
    """``value`` as a finite float within ±1,000,000, or LocalizedError naming the setting."""
    if isinstance(value, bool):
        raise LocalizedError("err.not_number", name=name, value=str(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LocalizedError("err.not_number", name=name, value=repr(str(value)[:20])) from None
    if not math.isfinite(number) or abs(number) > MAX_ABS:
        raise LocalizedError("err.not_finite", name=name)
    return number

