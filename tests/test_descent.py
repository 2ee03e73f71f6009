"""Gradient descent on toy functions: real torch.optim trajectories, regimes, divergence, errors."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.descent import (
    DEFAULT_LR,
    HUGE,
    ONE_WEIGHT,
    OPTIMIZERS,
    REGIME_LR,
    REGIME_VERDICT,
    TOLERANCE,
    TWO_WEIGHTS,
    get_function,
    lr_sweep,
    make_optimizer,
    race,
    trajectory,
)
from explainer.i18n import LocalizedError


def hand_loop(function, optimizer, lr, steps, start):
    """The course loop written out by hand: the oracle for every trajectory."""
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = {
        "sgd": lambda: torch.optim.SGD([w], lr=lr),
        "momentum": lambda: torch.optim.SGD([w], lr=lr, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD([w], lr=lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: torch.optim.RMSprop([w], lr=lr),
        "adagrad": lambda: torch.optim.Adagrad([w], lr=lr),
        "adam": lambda: torch.optim.Adam([w], lr=lr),
    }[optimizer]()
    points, losses = [w.detach().clone()], []
    for _ in range(steps):
        opt.zero_grad()
        loss = function(w)
        loss.backward()
        losses.append(loss.detach())
        opt.step()
        points.append(w.detach().clone())
    losses.append(function(w).detach())
    return torch.stack(points), torch.stack(losses)


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "saddle", "quadratic"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_trajectories_equal_a_hand_written_torch_optim_loop(name, optimizer):
    function = get_function(name)
    run = trajectory(name, optimizer, steps=25)
    points, losses = hand_loop(function, optimizer, DEFAULT_LR[name][optimizer], 25, function.start)
    assert torch.equal(run.points, points) and torch.equal(run.losses, losses)
    assert run.taken == 25 and not run.diverged


def test_gradients_come_from_autograd():
    run = trajectory("himmelblau", "sgd", steps=3)
    x, y = run.points[0].tolist()
    analytic = [4 * x * (x * x + y - 11) + 2 * (x + y * y - 7), 2 * (x * x + y - 11) + 4 * y * (x + y * y - 7)]
    assert run.gradients[0].tolist() == pytest.approx(analytic)
    # plain SGD: the next point is exactly w − η·grad
    assert torch.allclose(run.points[1], run.points[0] - run.lr * run.gradients[0])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_lowers_the_loss_on_a_convex_bowl_with_a_small_rate(optimizer):
    run = trajectory("quadratic", optimizer, lr=0.01, steps=60, start=(-2.0, 1.5), condition=5)
    assert not run.diverged
    assert run.final_loss < 0.9 * float(run.losses[0])
    assert float(run.losses[1]) < float(run.losses[0])


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-3, 3), y=st.floats(-3, 3), kappa=st.floats(1, 100))
def test_plain_gradient_descent_never_climbs_a_convex_bowl(x, y, kappa):
    """With η below 1/κ (the bowl's steepest curvature) every SGD step lowers the loss or keeps it."""
    run = trajectory("quadratic", "sgd", lr=0.9 / kappa, steps=20, start=(x, y), condition=kappa)
    assert not run.diverged
    assert bool((run.losses[1:] <= run.losses[:-1] + 1e-12).all())


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_a_too_large_rate_diverges_and_is_reported(optimizer):
    run = trajectory("quadratic", optimizer, lr=1.0, steps=200, condition=10)
    assert run.diverged and run.verdict == "diverged" and run.diverged_at <= 200
    assert run.taken < 200  # stopped early
    assert bool(torch.isfinite(run.points).all()) and bool(torch.isfinite(run.losses).all())
    assert max(float(run.points[-1].abs().max()), float(run.losses[-1])) > HUGE or run.taken == run.diverged_at - 1
    message = run.message()
    assert message.key == "gd.msg.diverged" and message.fields["step"] == run.diverged_at
    assert "diverged" in message.render("en") and "发散" in message.render("zh")
    assert run.converged_at is None


@pytest.mark.parametrize("name", ONE_WEIGHT)
@pytest.mark.parametrize("regime", list(REGIME_VERDICT))
def test_each_learning_rate_preset_shows_its_regime(name, regime):
    run = trajectory(name, "sgd", REGIME_LR[name][regime], steps=30)
    assert run.verdict == REGIME_VERDICT[regime], (name, regime, run.verdict)


def test_steps_to_converge_is_the_step_from_which_the_loss_stays_near_the_minimum():
    run = trajectory("parabola", "sgd", lr=0.3, steps=30)
    k = run.converged_at
    assert k is not None and k > 0
    gaps = (run.losses - run.minimum).abs()
    assert bool((gaps[k:] < TOLERANCE).all()) and float(gaps[k - 1]) >= TOLERANCE


def test_two_minima_from_the_right_gets_stuck_in_the_higher_valley():
    run = trajectory("two_minima", "sgd", lr=0.05, steps=60, start=(2.5,))
    assert run.verdict == "stuck" and float(run.points[-1][0]) == pytest.approx(1.9343, abs=1e-3)
    assert run.message().key == "gd.msg.stuck"


def test_the_race_runs_every_optimizer_at_its_scaled_rate():
    runs = race("saddle", steps=20, lr_scale=2.0)
    assert [r.optimizer for r in runs] == list(OPTIMIZERS)
    assert [r.lr for r in runs] == pytest.approx([2 * DEFAULT_LR["saddle"][o] for o in OPTIMIZERS])
    assert all(torch.equal(r.points[0], runs[0].points[0]) for r in runs)


def test_the_learning_rate_sweep_goes_from_crawling_to_diverging():
    sweep = lr_sweep("parabola", steps=30, count=25)
    assert sweep.verdicts[0] == "crawling" and sweep.verdicts[-1] == "diverged"
    assert "converged" in sweep.verdicts and "oscillating" in sweep.verdicts
    assert bool((sweep.lrs[1:] > sweep.lrs[:-1]).all())
    for i in (0, 12, 18, 24):  # all runs at once, yet each is the run trajectory() makes alone
        alone = trajectory("parabola", "sgd", float(sweep.lrs[i]), 30)
        assert alone.verdict == sweep.verdicts[i] and alone.diverged_at == sweep.diverged_at[i]
        assert alone.final_loss - alone.minimum == pytest.approx(float(sweep.gaps[i]), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", TWO_WEIGHTS)
def test_every_function_has_its_minimum_where_it_says(name):
    function = get_function(name)
    values = function(torch.tensor(function.minima, dtype=torch.float64))
    assert values.tolist() == pytest.approx([function.minimum] * len(function.minima), abs=1e-9)


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"function": "parabola", "optimizer": "sgd", "lr": 0.0}, "err.lr_range"),
        ({"function": "parabola", "optimizer": "sgd", "lr": math.nan}, "err.not_finite"),
        ({"function": "parabola", "optimizer": "sgd", "lr": 1e9}, "err.not_finite"),
        ({"function": "parabola", "optimizer": "lbfgs"}, "err.unknown_choice"),
        ({"function": "ackley", "optimizer": "sgd"}, "err.unknown_choice"),
        ({"function": "rosenbrock", "optimizer": "adam", "start": (9.0, 0.0)}, "err.out_of_range"),
        ({"function": "rosenbrock", "optimizer": "adam", "start": (1.0,)}, "err.start_dims"),
        ({"function": "rosenbrock", "optimizer": "adam", "steps": 0}, "err.out_of_range"),
        ({"function": "quadratic", "optimizer": "adam", "condition": 0.5}, "err.out_of_range"),
    ],
)
def test_bad_settings_raise_a_localized_error(kwargs, key):
    with pytest.raises(LocalizedError) as info:
        trajectory(**kwargs)
    assert info.value.msg.key == key
    assert info.value.message("zh")  # renders in Chinese too


def test_make_optimizer_uses_the_real_torch_classes():
    w = torch.zeros(2, requires_grad=True)
    assert type(make_optimizer("adam", [w], 0.1)) is torch.optim.Adam
    nesterov = make_optimizer("nesterov", [w], 0.1)
    assert type(nesterov) is torch.optim.SGD and nesterov.param_groups[0]["nesterov"] and nesterov.param_groups[0]["momentum"] == 0.9
