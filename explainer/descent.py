"""Gradient descent on functions small enough to draw: one weight on a curve, two on a surface.

The course explains a step of gradient descent with the tangent of the loss curve: the slope
``dL/dw`` says which way is downhill (a negative slope means *increase* w), the learning rate
η says how far to go::

    w ← w − η · dL/dw

Everything here is the real thing: the functions are PyTorch functions, the slopes come from
autograd, and every trajectory is made by a real ``torch.optim`` optimizer (SGD, SGD with
momentum, Nesterov, RMSprop, Adagrad, Adam) running the course's loop
``zero_grad → loss → backward → step``. A run that blows up — a coordinate or the loss no
longer a finite number, or beyond ±10⁶ — is stopped and reported, never drawn as garbage.

    >>> run = trajectory("parabola", "sgd", lr=0.5, steps=20, start=(-2.5,))
    >>> run.verdict
    'converged'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .i18n import LocalizedError, Msg
from .optim import OPTIMIZERS, check_optimizer, make_optimizer  # all six race; one registry
from .stages.grid import check_int, check_number

DTYPE = torch.float64  # toy problems: exact enough that the printed numbers add up
HUGE = 1e6  # a coordinate or loss beyond this counts as "exploded"
TOLERANCE = 1e-3  # converged: the loss is within this of the function's minimum, and stays there
MAX_STEPS = 1000

VERDICTS: tuple[str, ...] = ("converged", "oscillating", "crawling", "stuck", "diverged")
REGIMES: tuple[str, ...] = ("small", "good", "large", "divergent")
# What each learning-rate preset is expected to produce (the tests hold every function to it).
REGIME_VERDICT = {"small": "crawling", "good": "converged", "large": "oscillating", "divergent": "diverged"}


@dataclass(frozen=True, eq=False)
class Function:
    """A loss to descend: ``fn`` maps a tensor whose last dimension holds the weights to losses.

    ``domain`` is the box drawn on screen (``((low, high),)`` per weight), ``minimum`` the
    lowest value the function takes (so "converged" can be judged), ``minima`` where.
    """

    key: str
    dims: int
    fn: Callable[[torch.Tensor], torch.Tensor]
    domain: tuple[tuple[float, float], ...]
    start: tuple[float, ...]
    minimum: float
    minima: tuple[tuple[float, ...], ...]
    latex: str

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return self.fn(w)


def _parabola(w: torch.Tensor) -> torch.Tensor:
    return 0.5 * (w[..., 0] - 2) ** 2


def _two_minima(w: torch.Tensor) -> torch.Tensor:
    v = w[..., 0]
    return v**4 / 4 - 2 * v**2 + v / 2 + 5.5


_PLATEAU_SHIFT = 1.74375  # lifts the minimum at w = 3 to a loss of 0


def _plateau(w: torch.Tensor) -> torch.Tensor:
    # dL/dw = (w² + 0.05)(w − 3)/4: almost flat around w = 0, a minimum at w = 3.
    v = w[..., 0]
    return (v**4 / 4 - v**3 + 0.025 * v**2 - 0.15 * v) / 4 + _PLATEAU_SHIFT


def _quadratic(condition: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def fn(w: torch.Tensor) -> torch.Tensor:
        return 0.5 * (w[..., 0] ** 2 + condition * w[..., 1] ** 2)

    return fn


def _rosenbrock(w: torch.Tensor) -> torch.Tensor:
    x, y = w[..., 0], w[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _himmelblau(w: torch.Tensor) -> torch.Tensor:
    x, y = w[..., 0], w[..., 1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _saddle(w: torch.Tensor) -> torch.Tensor:
    x, y = w[..., 0], w[..., 1]
    return x**2 - y**2 + y**4 / 4


ONE_WEIGHT: tuple[str, ...] = ("parabola", "two_minima", "plateau")
TWO_WEIGHTS: tuple[str, ...] = ("quadratic", "rosenbrock", "himmelblau", "saddle")
FUNCTIONS: tuple[str, ...] = ONE_WEIGHT + TWO_WEIGHTS
CONDITION_RANGE = (1.0, 100.0)
DEFAULT_CONDITION = 10.0

_STATIC: dict[str, Function] = {
    "parabola": Function("parabola", 1, _parabola, ((-4.0, 8.0),), (-2.5,), 0.0, ((2.0,),),
                         r"L(w) = \tfrac{1}{2}(w-2)^2"),
    "two_minima": Function("two_minima", 1, _two_minima, ((-3.2, 3.2),), (-0.6,), 0.484835, ((-2.059792,), (1.934298,)),
                           r"L(w) = \tfrac{1}{4}w^4 - 2w^2 + \tfrac{1}{2}w + 5.5"),
    "plateau": Function("plateau", 1, _plateau, ((-2.0, 4.5),), (-1.5,), 0.0, ((3.0,),),
                        r"L(w) = \tfrac{1}{16}\left(w^4 - 4w^3 + 0.1w^2 - 0.6w\right) + 1.744"),
    "rosenbrock": Function("rosenbrock", 2, _rosenbrock, ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.5), 0.0, ((1.0, 1.0),),
                           r"L(x, y) = (1-x)^2 + 100\,(y-x^2)^2"),
    "himmelblau": Function("himmelblau", 2, _himmelblau, ((-5.0, 5.0), (-5.0, 5.0)), (-0.3, -0.9), 0.0,
                           ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
                           r"L(x, y) = (x^2+y-11)^2 + (x+y^2-7)^2"),
    "saddle": Function("saddle", 2, _saddle, ((-2.0, 2.0), (-2.0, 2.0)), (-1.8, 0.02), -1.0,
                       ((0.0, math.sqrt(2)), (0.0, -math.sqrt(2))), r"L(x, y) = x^2 - y^2 + \tfrac{1}{4}y^4"),
}


def get_function(name: str, condition: float = DEFAULT_CONDITION) -> Function:
    """The function called ``name``; ``condition`` (κ, 1–100) shapes the quadratic bowl ½(x² + κy²)."""
    if name == "quadratic":
        kappa = check_number(condition, Msg("setting.condition"))
        low, high = CONDITION_RANGE
        if not low <= kappa <= high:
            raise LocalizedError("err.out_of_range", name=Msg("setting.condition"), low=f"{low:g}", high=f"{high:g}",
                                 value=f"{kappa:g}")
        return Function("quadratic", 2, _quadratic(kappa), ((-3.0, 3.0), (-3.0, 3.0)), (-2.5, 2.0), 0.0, ((0.0, 0.0),),
                        rf"L(x, y) = \tfrac{{1}}{{2}}\left(x^2 + {kappa:g}\,y^2\right)")
    if name not in _STATIC:
        raise LocalizedError("err.unknown_choice", value=str(name)[:30], choices=", ".join(FUNCTIONS))
    return _STATIC[name]


# Learning rates that make a pleasant race from the default start, per function and optimizer.
DEFAULT_LR: dict[str, dict[str, float]] = {
    "parabola": {"sgd": 0.3, "momentum": 0.1, "nesterov": 0.1, "rmsprop": 0.1, "adagrad": 1.0, "adam": 0.3},
    "two_minima": {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "rmsprop": 0.05, "adagrad": 0.5, "adam": 0.2},
    "plateau": {"sgd": 0.6, "momentum": 0.1, "nesterov": 0.1, "rmsprop": 0.05, "adagrad": 0.5, "adam": 0.2},
    "quadratic": {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 0.05, "adagrad": 0.5, "adam": 0.2},
    "rosenbrock": {"sgd": 0.0015, "momentum": 0.001, "nesterov": 0.001, "rmsprop": 0.01, "adagrad": 0.5, "adam": 0.1},
    "himmelblau": {"sgd": 0.01, "momentum": 0.003, "nesterov": 0.005, "rmsprop": 0.05, "adagrad": 0.5, "adam": 0.2},
    "saddle": {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "rmsprop": 0.02, "adagrad": 0.3, "adam": 0.1},
}
# Steps that show each function's story (Rosenbrock's curved valley takes long).
DEFAULT_STEPS: dict[str, int] = {"parabola": 30, "two_minima": 30, "plateau": 30, "quadratic": 100, "rosenbrock": 300,
                                 "himmelblau": 150, "saddle": 150}

# Plain gradient descent (SGD) on one weight: a rate for each regime, from the default start.
REGIME_LR: dict[str, dict[str, float]] = {
    "parabola": {"small": 0.03, "good": 0.3, "large": 1.8, "divergent": 2.5},
    "two_minima": {"small": 0.005, "good": 0.05, "large": 0.3, "divergent": 0.6},
    "plateau": {"small": 0.05, "good": 0.6, "large": 0.8, "divergent": 2.0},
}


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Where an optimizer took the weights, step by step.

    ``points[k]`` are the weights after ``k`` steps, ``losses[k]`` and ``gradients[k]`` the
    loss and its gradient there; ``points[k + 1]`` is what ``optimizer.step()`` made of them.
    A run that exploded ends early: ``diverged_at`` is the step at which it did.
    """

    function: str
    optimizer: str
    lr: float
    steps: int  # asked for
    points: torch.Tensor  # [K + 1, dims]
    losses: torch.Tensor  # [K + 1]
    gradients: torch.Tensor  # [K + 1, dims]
    minimum: float
    converged_at: int | None  # first step from which the loss stays within TOLERANCE of the minimum
    diverged_at: int | None

    @property
    def taken(self) -> int:
        """Steps actually taken (fewer than asked when the run exploded)."""
        return len(self.points) - 1

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def verdict(self) -> str:
        """What the run did: ``diverged``, ``oscillating``, ``converged``, ``stuck`` or ``crawling``.

        Oscillating: most steps jump to the other side (the step changes sign), the mark of a
        rate that overshoots. Stuck: the slope is ~0 but the loss is above the minimum (a
        local minimum, a saddle point, a plateau). Crawling: none of these after all steps.
        """
        if self.diverged:
            return "diverged"
        moves = self.points[1:] - self.points[:-1]
        if len(moves) >= 4:
            dots = (moves[1:] * moves[:-1]).sum(-1)
            moving = moves[1:].norm(dim=-1) > 1e-9
            if moving.sum() >= 3 and float((dots[moving] < 0).double().mean()) >= 0.6:
                return "oscillating"
        if self.converged_at is not None:
            return "converged"
        if float(self.gradients[-1].norm()) < 1e-3:
            return "stuck"
        return "crawling"

    def message(self) -> Msg:
        """One sentence for the student on what happened."""
        name = Msg(f"gd.opt.{self.optimizer}")
        if self.diverged:
            return Msg("gd.msg.diverged", optimizer=name, lr=f"{self.lr:g}", step=self.diverged_at)
        verdict = self.verdict
        if verdict == "converged":
            return Msg("gd.msg.converged", optimizer=name, steps=self.converged_at)
        if verdict == "oscillating":
            return Msg("gd.msg.oscillating", optimizer=name, lr=f"{self.lr:g}")
        if verdict == "stuck":
            return Msg("gd.msg.stuck", optimizer=name, loss=f"{self.final_loss:.3g}")
        return Msg("gd.msg.crawling", optimizer=name, steps=self.taken, loss=f"{self.final_loss:.3g}")

    def to_json(self) -> dict:
        return {
            "function": self.function,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "steps": self.taken,
            "points": self.points.tolist(),
            "losses": self.losses.tolist(),
            "gradients": self.gradients.tolist(),
            "converged_at": self.converged_at,
            "diverged": self.diverged,
            "diverged_at": self.diverged_at,
            "verdict": self.verdict,
            "final_loss": self.final_loss,
        }


def check_lr(lr: float) -> float:
    lr = check_number(lr, Msg("setting.learning_rate"))
    if not 0 < lr <= 100:
        raise LocalizedError("err.lr_range", value=f"{lr:g}")
    return lr


def check_start(function: Function, start: Sequence[float]) -> tuple[float, ...]:
    """A start point inside the function's drawn box (so the picture can show it)."""
    values = tuple(start)
    if len(values) != function.dims:
        raise LocalizedError("err.start_dims", dims=function.dims, got=len(values))
    out = []
    for value, (low, high), axis in zip(values, function.domain, ("x", "y") if function.dims == 2 else ("w",)):
        number = check_number(value, Msg("setting.start", axis=axis))
        if not low <= number <= high:
            raise LocalizedError("err.out_of_range", name=Msg("setting.start", axis=axis), low=f"{low:g}", high=f"{high:g}",
                                 value=f"{number:g}")
        out.append(number)
    return tuple(out)


def _converged_at(losses: torch.Tensor, minimum: float) -> int | None:
    """The first step from which every later loss is within TOLERANCE of ``minimum``."""
    far = (losses - minimum).abs() >= TOLERANCE
    if bool(far[-1]):
        return None
    indices = torch.nonzero(far).flatten()
    return 0 if len(indices) == 0 else int(indices[-1]) + 1


def trajectory(function: str | Function, optimizer: str, lr: float | None = None, steps: int | None = None,
               start: Sequence[float] | None = None, condition: float = DEFAULT_CONDITION) -> Trajectory:
    """Run ``optimizer`` on ``function`` for ``steps`` steps from ``start``: the course's loop, for real.

    ``lr=None`` uses :data:`DEFAULT_LR`, ``steps=None`` :data:`DEFAULT_STEPS`. Each step is ``zero_grad()``, the loss, ``backward()``
    (autograd computes the gradient) and ``step()``. The run stops early — and says so — when
    the weights or the loss leave the finite numbers or pass ±10⁶.
    """
    fn = function if isinstance(function, Function) else get_function(function, condition)
    check_optimizer(optimizer)
    lr = check_lr(DEFAULT_LR[fn.key][optimizer] if lr is None else lr)
    steps = check_int(DEFAULT_STEPS[fn.key] if steps is None else steps, Msg("setting.steps"), 1, MAX_STEPS)
    start = check_start(fn, fn.start if start is None else start)

    w = torch.tensor(start, dtype=DTYPE, requires_grad=True)
    opt = make_optimizer(optimizer, [w], lr)
    points: list[torch.Tensor] = []
    losses: list[torch.Tensor] = []
    gradients: list[torch.Tensor] = []
    diverged_at = None
    for k in range(steps + 1):
        opt.zero_grad()
        loss = fn(w)
        loss.backward()
        value, grad = loss.detach(), w.grad.detach().clone()
        drawable = bool(torch.isfinite(value)) and bool(torch.isfinite(grad).all())
        if drawable:  # a point that exploded but is still a number is kept: the picture shows where it flew
            points.append(w.detach().clone())
            losses.append(value)
            gradients.append(grad)
        if not drawable or abs(float(value)) > HUGE or float(w.detach().abs().max()) > HUGE:
            diverged_at = k
            break
        if k < steps:
            opt.step()
    losses_t = torch.stack(losses)
    converged = None if diverged_at is not None else _converged_at(losses_t, fn.minimum)
    return Trajectory(fn.key, optimizer, lr, steps, torch.stack(points), losses_t, torch.stack(gradients), fn.minimum,
                      converged, diverged_at)


def race(function: str, optimizers: Sequence[str] = OPTIMIZERS, steps: int | None = None, start: Sequence[float] | None = None,
         lr_scale: float = 1.0, condition: float = DEFAULT_CONDITION) -> tuple[Trajectory, ...]:
    """Every optimizer from the same start, each at its :data:`DEFAULT_LR` times ``lr_scale``."""
    fn = get_function(function, condition)
    scale = check_number(lr_scale, Msg("setting.lr_scale"))
    if not 0.01 <= scale <= 100:
        raise LocalizedError("err.out_of_range", name=Msg("setting.lr_scale"), low="0.01", high="100", value=f"{scale:g}")
    if not optimizers:
        raise LocalizedError("err.no_optimizer")
    return tuple(trajectory(fn, name, DEFAULT_LR[fn.key][check_optimizer(name)] * scale, steps, start) for name in optimizers)


@dataclass(frozen=True, eq=False)
class LrSweep:
    """Plain gradient descent at many learning rates: where each run ended after ``steps`` steps."""

    function: str
    steps: int
    lrs: torch.Tensor  # [R]
    gaps: torch.Tensor  # [R]: final loss − minimum (the last drawable loss for runs that exploded)
    verdicts: tuple[str, ...]
    diverged_at: tuple[int | None, ...]


def lr_sweep(function: str, start: Sequence[float] | None = None, steps: int = 30, low: float = 1e-3, high: float = 10.0,
             count: int = 49) -> LrSweep:
    """Plain gradient descent from ``start`` at ``count`` learning rates spaced evenly on a log scale.

    All runs go at once: one ``torch.optim.SGD`` with a parameter group (and its own rate) per
    run, one backward pass of the summed losses per step — each weight's gradient is still its
    own slope, so every run is the one :func:`trajectory` would make (to the last bit or two of
    rounding). A run that explodes is frozen where it was last a number.
    """
    fn = get_function(function)
    steps = check_int(steps, Msg("setting.steps"), 1, MAX_STEPS)
    start = check_start(fn, fn.start if start is None else start)
    lrs = torch.logspace(math.log10(low), math.log10(high), count, dtype=DTYPE)
    weights = [torch.tensor(start, dtype=DTYPE, requires_grad=True) for _ in range(count)]
    opt = torch.optim.SGD([{"params": [w], "lr": float(lr)} for w, lr in zip(weights, lrs)], lr=1.0)
    points: list[list[torch.Tensor]] = [[] for _ in range(count)]
    losses: list[list[torch.Tensor]] = [[] for _ in range(count)]
    gradients: list[list[torch.Tensor]] = [[] for _ in range(count)]
    diverged: list[int | None] = [None] * count
    for k in range(steps + 1):
        opt.zero_grad()
        values = fn(torch.stack(weights))
        values.sum().backward()
        for i, (w, group) in enumerate(zip(weights, opt.param_groups)):
            if diverged[i] is not None:
                continue
            value, grad = values[i].detach(), w.grad.detach().clone()
            drawable = bool(torch.isfinite(value)) and bool(torch.isfinite(grad).all())
            if drawable:
                points[i].append(w.detach().clone())
                losses[i].append(value)
                gradients[i].append(grad)
            if not drawable or abs(float(value)) > HUGE or float(w.detach().abs().max()) > HUGE:
                diverged[i] = k
                group["lr"] = 0.0
                with torch.no_grad():
                    w.copy_(points[i][-1] if points[i] else torch.tensor(start, dtype=DTYPE))
        if k < steps:
            opt.step()
    runs = []
    for i in range(count):
        losses_i = torch.stack(losses[i])
        converged = None if diverged[i] is not None else _converged_at(losses_i, fn.minimum)
        runs.append(Trajectory(fn.key, "sgd", float(lrs[i]), steps, torch.stack(points[i]), losses_i,
                               torch.stack(gradients[i]), fn.minimum, converged, diverged[i]))
    gaps = torch.tensor([float(r.losses[-1]) - fn.minimum for r in runs], dtype=DTYPE)
    return LrSweep(fn.key, steps, lrs, gaps, tuple(r.verdict for r in runs), tuple(r.diverged_at for r in runs))


def curve(function: Function, low: float, high: float, n: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    """The function sampled on ``n`` points of ``[low, high]`` (one weight)."""
    xs = torch.linspace(low, high, n, dtype=DTYPE)
    return xs, function(xs[:, None])


def surface(function: Function, n: int = 80) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The function on an ``n×n`` grid over its box: (xs, ys, z) with ``z[i, j] = L(xs[j], ys[i])``."""
    (x0, x1), (y0, y1) = function.domain
    xs = torch.linspace(x0, x1, n, dtype=DTYPE)
    ys = torch.linspace(y0, y1, n, dtype=DTYPE)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return xs, ys, function(torch.stack([gx, gy], dim=-1))
