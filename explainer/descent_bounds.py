"""What the gradient-descent page offers: learning rates, steps, condition numbers, rate scales.

Declared once here; the page's widgets read them and the address accepts exactly these.
"""

from __future__ import annotations

from .descent import DEFAULT_LR, ONE_WEIGHT, REGIME_LR

LEARNING_RATES: tuple[float, ...] = tuple(sorted(
    {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0}
    | {lr for rates in REGIME_LR.values() for lr in rates.values()}
    | {DEFAULT_LR[f]["sgd"] for f in ONE_WEIGHT}))
LR_SCALES: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # the race: each optimizer's rate times this
CONDITIONS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # the quadratic's condition number
ONE_STEPS = (5, 100)  # one weight: the fewest and most steps
TWO_STEPS = (10, 500)  # the race


def one_weight_start(name: str) -> dict[str, float | int]:
    """Where one-weight descent on curve ``name`` starts: its own start, its good rate, its number of steps, step 1."""
    from .descent import DEFAULT_STEPS, get_function

    return {"start": float(get_function(name).start[0]), "lr": REGIME_LR[name]["good"], "steps": DEFAULT_STEPS[name], "step": 1}


def race_start(name: str) -> dict[str, float | int]:
    """Where the race on surface ``name`` starts: its own starting point and number of steps."""
    from .descent import DEFAULT_STEPS, get_function

    x, y = get_function(name).start
    return {"x": float(x), "y": float(y), "steps": DEFAULT_STEPS[name]}
