"""The hand-set stages against PyTorch as the oracle, on the course example and on random cases."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from explainer.stages import (
    COURSE_INPUT,
    COURSE_KERNEL,
    INPUT_PRESETS,
    KERNEL_PRESETS,
    ConvSettings,
    GridError,
    PoolSettings,
    apply_activation,
    as_grid,
    batch_product,
    conv2d_reference,
    conv_code,
    conv_output_size,
    convolve,
    cross_entropy,
    curves,
    derivative,
    flatten,
    fmt,
    gradient_flow,
    grid_text,
    hinge,
    input_preset,
    kernel_preset,
    linear,
    loss_table,
    parse_grid_text,
    parse_vector_text,
    pool,
    pool_code,
    pool_output_size,
    pool_reference,
    resize,
    seeded_layer,
    softmax,
    walkthrough,
)

D = torch.float64
numbers = st.integers(-9, 9).map(float) | st.floats(-50, 50, allow_nan=False, allow_infinity=False)


def grids(min_side=1, max_side=8):
    return st.integers(min_side, max_side).flatmap(
        lambda h: st.integers(min_side, max_side).flatmap(
            lambda w: st.lists(st.lists(numbers, min_size=w, max_size=w), min_size=h, max_size=h)
        )
    )


# --- the course example ---------------------------------------------------------------------


def test_the_course_convolution_by_hand():
    result = convolve(COURSE_INPUT, COURSE_KERNEL)
    assert result.output.tolist() == [[24, 18, 8], [26, 18, 8], [28, 18, 8]]
    first = result.windows[0]
    # 3·0 + 3·1 + 2·2 + 2·2 + 3·2 + 2·0 + 3·0 + 3·1 + 2·2 = 24
    assert first.products.tolist() == [[0, 3, 4], [4, 6, 0], [0, 3, 4]] and first.total == 24
    assert result.steps == 9 and (result.windows[4].out_row, result.windows[4].out_col) == (1, 1)


def test_the_course_chain_matches_the_notes_layers():
    """The notes: nn.Conv2d(1, 1, 3, bias=False) with weight.data set by hand, ReLU, MaxPool2d(2, 2, padding=1), Flatten."""
    w = walkthrough()
    conv = torch.nn.Conv2d(1, 1, 3, bias=False).double()
    conv.weight.data = torch.tensor(COURSE_KERNEL, dtype=D).reshape(1, 1, 3, 3)
    x = torch.tensor(COURSE_INPUT, dtype=D).reshape(1, 1, 5, 5)
    pipeline = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2, padding=1), torch.nn.Flatten())
    with torch.no_grad():
        expected = pipeline(x)[0]
    torch.testing.assert_close(w.flatten.vector, expected)
    assert w.pool.output.tolist() == [[24, 18], [28, 18]]
    torch.testing.assert_close(w.fc.output, F.linear(expected, w.fc.weight, w.fc.bias))
    torch.testing.assert_close(w.softmax.probabilities, torch.softmax(w.fc.output, 0))
    data = w.to_json()
    assert set(data) == {"input", "kernel", "conv", "relu", "pool", "flatten", "fc", "softmax"}
    assert data["fc"]["weight"] == w.fc.weight.tolist() and math.isclose(sum(data["softmax"]["probabilities"]), 1)


def test_conv_code_reproduces_the_result():
    result = convolve(input_preset("random", 6, seed=3), kernel_preset("sharpen", 3), ConvSettings(stride=2, padding=1, bias=0.5))
    namespace = {}
    exec(conv_code(result).replace("print(conv(x))", "out = conv(x)"), namespace)  # noqa: S102 - our own code
    torch.testing.assert_close(namespace["out"][0, 0].double().detach(), result.output, atol=1e-5, rtol=1e-6)


# --- properties against PyTorch --------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(x=grids(1, 9), k=grids(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 3), dilation=st.integers(1, 3), bias=numbers)
def test_convolution_equals_pytorch(x, k, stride, padding, dilation, bias):
    x, k = torch.tensor(x, dtype=D), torch.tensor(k, dtype=D)
    span_h, span_w = dilation * (k.shape[0] - 1) + 1, dilation * (k.shape[1] - 1) + 1
    conv = ConvSettings(stride, padding, dilation, bias)
    if span_h > x.shape[0] + 2 * padding or span_w > x.shape[1] + 2 * padding:
        with pytest.raises(ValueError, match="does not fit"):
            convolve(x, k, conv)
        return
    result = convolve(x, k, conv)
    torch.testing.assert_close(result.output, conv2d_reference(x, k, conv))
    assert result.output.shape == (
        conv_output_size(x.shape[0], k.shape[0], stride, padding, dilation),
        conv_output_size(x.shape[1], k.shape[1], stride, padding, dilation),
    )
    for window in result.windows:  # every step's arithmetic is what it claims
        assert window.total == pytest.approx(float(window.products.sum()) + bias)
        assert result.output[window.out_row, window.out_col] == window.total


@settings(max_examples=150, deadline=None)
@given(x=grids(1, 9), kind=st.sampled_from(["max", "avg"]), kernel=st.integers(1, 4), stride=st.integers(1, 4), padding=st.integers(0, 2))
def test_pooling_equals_pytorch(x, kind, kernel, stride, padding):
    assume(padding <= kernel // 2)
    x = torch.tensor(x, dtype=D)
    assume(kernel <= min(x.shape) + 2 * padding)
    ps = PoolSettings(kind, kernel, stride, padding)
    result = pool(x, ps)
    torch.testing.assert_close(result.output, pool_reference(x, ps))
    for window in result.windows:
        if kind == "max":
            assert result.padded[window.winner] == window.result
            assert not result.is_padding(*window.winner) or window.result == float("-inf")


@settings(max_examples=100, deadline=None)
@given(x=st.lists(numbers, min_size=1, max_size=12), outputs=st.integers(1, 6), seed=st.integers(0, 10))
def test_linear_equals_pytorch(x, outputs, seed):
    w, b = seeded_layer(outputs, len(x), seed)
    b = b + 0.5
    result = linear(x, w, b)
    torch.testing.assert_close(result.output, F.linear(torch.tensor(x, dtype=D), w, b))
    torch.testing.assert_close(result.products.sum(1) + b, result.output)


@settings(max_examples=150, deadline=None)
@given(z=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=10), t=st.floats(0.05, 100))
def test_softmax_equals_pytorch_and_is_stable(z, t):
    result = softmax(z, t)
    torch.testing.assert_close(result.probabilities, torch.softmax(torch.tensor(z, dtype=D) / t, 0))
    assert torch.isfinite(result.probabilities).all() and math.isclose(float(result.probabilities.sum()), 1, abs_tol=1e-12)
    torch.testing.assert_close(result.log_probabilities, torch.log_softmax(torch.tensor(z, dtype=D) / t, 0))


@settings(max_examples=80, deadline=None)
@given(x=st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=1, max_size=5), c=st.integers(1, 3))
def test_flatten_equals_pytorch(x, c):
    block = torch.tensor([x] * c, dtype=D) + torch.arange(c, dtype=D)[:, None, None]
    result = flatten(block)
    torch.testing.assert_close(result.vector, torch.nn.Flatten(0)(block))
    for position, (ci, hi, wi) in enumerate(result.order):
        assert position == ci * block.shape[1] * block.shape[2] + hi * block.shape[2] + wi
        assert result.vector[position] == block[ci, hi, wi]


# --- the numbers the pages show ----------------------------------------------------------------


def test_softmax_steps_and_the_naive_overflow():
    result = softmax([1000, 0, -1000])
    assert result.probabilities.tolist() == [1.0, 0.0, 0.0]
    assert result.naive_fails and math.isinf(float(result.naive_exps[0]))
    assert result.shifted.tolist() == [0, -1000, -2000]
    small = softmax([1, 2, 7])
    assert not small.naive_fails
    assert small.total == pytest.approx(math.exp(-6) + math.exp(-5) + 1)
    hot, cold = softmax([1, 2, 3], 0.1), softmax([1, 2, 3], 10)
    assert hot.probabilities.max() > 0.99 and cold.probabilities.max() < 0.4


def test_cross_entropy_three_ways_and_hinge():
    ce = cross_entropy([2.0, 1.0, 0.1], 0)
    assert ce.loss == pytest.approx(-math.log(ce.probability))
    assert ce.loss == pytest.approx(ce.via_cross_entropy) == pytest.approx(ce.via_log_softmax_nll)
    h = hinge([3.2, 5.1, -1.7], 0, 1.0)  # the classic CS231n numbers: max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0
    assert h.terms == pytest.approx((0, 2.9, 0)) and h.loss == pytest.approx(2.9)
    assert h.scores == (3.2, 5.1, -1.7)  # what the page shows under the formula: the scores the loss used
    assert h.pytorch_multi_margin == pytest.approx(2.9 / 3)  # nn.MultiMarginLoss divides by the number of classes
    with pytest.raises(ValueError):
        hinge([1, 2], 5)
    with pytest.raises(ValueError):
        hinge([1, 2], 0, -1)


def test_the_temperature_reaches_cross_entropy_but_not_the_hinge():
    """The issue's example: logits 1 2 7, true class 0, T = 0.5. The hinge is the textbook 9, not 16."""
    z, t = [1.0, 2.0, 7.0], 0.5
    h = hinge(z, 0)
    assert h.terms == (0, 2, 7) and h.loss == 9  # max(0, 2 − 1 + 1) + max(0, 7 − 1 + 1)
    assert hinge(softmax(z, t).scaled, 0).loss == 16  # the old mistake: the hinge on z / T = 2, 4, 14
    ce = cross_entropy(z, 0, temperature=t)
    assert ce.temperature == t
    assert ce.loss == pytest.approx(float(F.cross_entropy(torch.tensor([[2.0, 4.0, 14.0]], dtype=D), torch.tensor([0]))))
    assert ce.probability == pytest.approx(float(softmax(z, t).probabilities[0]))
    assert cross_entropy(z, 0).loss != pytest.approx(ce.loss)
    with pytest.raises(ValueError):
        cross_entropy(z, 0, temperature=0)
    rows = {r.name: r for r in loss_table(z, 0, temperature=t)}
    assert rows["multi_margin"].value == pytest.approx(9 / 3) and "(z, y)" in rows["multi_margin"].code
    assert rows["cross_entropy"].value == pytest.approx(ce.loss) and "z / T" in rows["cross_entropy"].code


@settings(max_examples=100, deadline=None)
@given(z=st.lists(numbers, min_size=2, max_size=10), data=st.data(),
       margin=st.floats(0, 5), t=st.sampled_from([0.1, 0.5, 1.0, 2.0, 10.0]))
def test_hinge_agrees_with_pytorch_multi_margin_loss(z, data, margin, t):
    """``nn.MultiMarginLoss`` is the course's sum divided by the number of classes C, on the scores, whatever T."""
    y = data.draw(st.integers(0, len(z) - 1))
    scores, target = torch.tensor([z], dtype=D), torch.tensor([y])
    expected = float(torch.nn.MultiMarginLoss(margin=margin)(scores, target))
    h = hinge(z, y, margin)
    assert h.loss / len(z) == pytest.approx(expected, abs=1e-9) and h.pytorch_multi_margin == pytest.approx(expected, abs=1e-9)
    assert h.loss == pytest.approx(sum(max(0.0, zj - z[y] + margin) for j, zj in enumerate(z) if j != y), abs=1e-9)
    row = next(r for r in loss_table(z, y, temperature=t) if r.name == "multi_margin")
    assert row.value == pytest.approx(float(torch.nn.MultiMarginLoss()(scores, target)), abs=1e-9)
    ce = cross_entropy(z, y, temperature=t)
    assert ce.loss == pytest.approx(float(F.cross_entropy(scores / t, target)), abs=1e-9)


def test_a_certain_class_costs_zero_not_minus_zero():
    """−log 1 is -0.0 in floating point; a student must read 0."""
    def positive_zero(v):
        return v != 0 or math.copysign(1, v) == 1

    ce = cross_entropy([1000, 0, -1000], 0)
    assert all(positive_zero(v) for v in (ce.loss, ce.via_cross_entropy, ce.via_log_softmax_nll))
    assert all(positive_zero(r.value) for r in loss_table([1000, 0, -1000], 0))
    h = hinge([5, 0, 0], 0, -0.0)
    assert positive_zero(h.margin) and all(positive_zero(v) for v in (*h.terms, h.loss, h.pytorch_multi_margin))
    result = softmax([-5e-324, 0], 100)  # z / T underflows to -0.0
    for tensor in (result.scaled, result.shifted, result.log_probabilities, result.probabilities):
        assert all(positive_zero(v) for v in tensor.tolist())


def test_loss_table_values():
    rows = {r.name: r.value for r in loss_table([2.0, 1.0, 0.1], 0)}
    assert rows["cross_entropy"] == pytest.approx(rows["nll"]) == pytest.approx(rows["kl_div"])
    assert set(rows) == {"cross_entropy", "nll", "bce_with_logits", "mse", "l1", "smooth_l1", "kl_div", "multi_margin"}
    assert all(v >= 0 for v in rows.values())


def test_loss_table_the_temperature_reaches_exactly_the_softmax_losses():
    z, t = [2.0, 1.0, 0.1], 0.5
    plain = {r.name: r for r in loss_table(z, 0)}
    hot = {r.name: r for r in loss_table(z, 0, temperature=t)}
    raw = {"bce_with_logits", "multi_margin"}  # a sigmoid per class, and the hinge: scores, no softmax
    for name in plain:
        if name in raw:
            assert hot[name].value == plain[name].value and "z / T" not in hot[name].code
        else:
            assert hot[name].value != pytest.approx(plain[name].value) and "z / T" in hot[name].code
    assert hot["cross_entropy"].value == pytest.approx(cross_entropy(z, 0, temperature=t).loss)
    p = softmax(z, t).probabilities
    assert hot["mse"].value == pytest.approx(float(((p - torch.tensor([1.0, 0, 0], dtype=D)) ** 2).mean()))


def test_relu_marks_the_cells_it_zeroed_and_derivatives_come_from_autograd():
    result = apply_activation([[-1, 2], [0, -3.5]])
    assert result.output.tolist() == [[0, 2], [0, 0]]
    assert result.zeroed.tolist() == [[True, False], [False, True]]
    x = torch.tensor([-2.0, 0.5, 3.0], dtype=D)
    torch.testing.assert_close(derivative("sigmoid", x), torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    torch.testing.assert_close(derivative("tanh", x), 1 - torch.tanh(x) ** 2)
    assert derivative("relu", x).tolist() == [0, 1, 1]
    assert derivative("leaky_relu", x).tolist() == [0.1, 1, 1]
    data = curves(["relu", "gelu"], points=11)
    assert len(data["relu"][0]) == 11 and max(data["relu"][2]) == 1


def test_sigmoid_gradients_vanish_with_depth_and_relus_do_not():
    sigmoid, relu = gradient_flow("sigmoid", 10), gradient_flow("relu", 10)
    assert len(sigmoid.gradients) == 10
    assert sigmoid.ratio < 1e-4  # the first layer gets almost nothing
    assert 0.1 < relu.ratio < 10
    with pytest.raises(ValueError):
        gradient_flow("swish")


def test_batch_product_of_the_notes():
    from explainer.stages import COURSE_BATCH_W, COURSE_BATCH_X

    assert batch_product(COURSE_BATCH_X, COURSE_BATCH_W).tolist() == [[4, 6], [12, 14], [20, 22]]
    with pytest.raises(GridError, match="columns"):
        batch_product([[1, 2, 3]], [[1], [2]])


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values,needle",
    [
        ([], "empty"),
        ([[]], "empty"),
        ([[1, 2], [3]], "Row 2"),
        ([[1, "x"]], "row 1, column 2.*not a number"),
        ([[1, None]], "empty"),
        ([[float("nan")]], "NaN"),
        ([[float("inf")]], "too large"),
        ([[1e300]], "too large"),
        ([[True]], "not a number"),
        ([[0] * 40], "at most"),
        ("3 3 2", "rows of numbers|2-D"),
    ],
)
def test_bad_grids_say_which_cell(values, needle):
    with pytest.raises(GridError, match=needle):
        as_grid(values, "input")


def test_parse_grid_text_forms():
    expected = [[3, 3, 2], [2, 3, 2]]
    for text in ("3 3 2\n2 3 2", "3,3,2; 2,3,2", "[[3, 3, 2], [2, 3, 2]]", " 3\t3\t2 \n\n 2 3 2 ", "[3 3 2]\n[2 3 2]", "3 3 2\n2 3 2\n"):
        assert parse_grid_text(text).tolist() == expected, text
    assert parse_grid_text("−1 0.5").tolist() == [[-1, 0.5]]
    assert parse_grid_text("[[1, 2]").tolist() == [[1, 2]]  # a missing bracket is forgiven
    with pytest.raises(GridError, match="Row 2"):
        parse_grid_text("[[1, 2], [3]]")
    with pytest.raises(GridError, match="not a number"):
        parse_grid_text("1 2\n3 four")
    assert parse_vector_text("1, 2 7").tolist() == [1, 2, 7]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_grid_or_a_clear_error(text):
    try:
        grid = parse_grid_text(text)
    except GridError as exc:
        assert str(exc)
    else:
        assert grid.dim() == 2 and torch.isfinite(grid).all()


@settings(max_examples=60, deadline=None)
@given(grids(1, 6))
def test_grid_text_round_trips(values):
    grid = torch.tensor(values, dtype=D).round(decimals=3)
    assert torch.equal(parse_grid_text(grid_text(grid)), grid)


@pytest.mark.parametrize(
    "kwargs,needle",
    [({"stride": 0}, "stride"), ({"padding": -1}, "padding"), ({"padding": 99}, "padding"), ({"dilation": 0}, "dilation"),
     ({"bias": float("nan")}, "bias"), ({"bias": "x"}, "bias"), ({"stride": 1.5}, "whole number")],
)
def test_bad_conv_settings(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        ConvSettings(**kwargs)


def test_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="does not fit"):
        convolve([[1, 2], [3, 4]], kernel_preset("box_blur", 3))
    assert convolve([[1, 2], [3, 4]], kernel_preset("box_blur", 3), ConvSettings(padding=1)).output.shape == (2, 2)


def test_bad_pool_settings():
    with pytest.raises(ValueError, match="at most half"):
        PoolSettings(kernel=2, padding=2)
    with pytest.raises(ValueError, match="max, avg"):
        PoolSettings(kind="median")
    with pytest.raises(ValueError, match="larger than the padded input"):
        pool([[1]], PoolSettings(kernel=3))
    assert pool_output_size(3, 2, 2, 1) == 2


def test_max_pooling_never_picks_padding_and_average_counts_it():
    grid = [[-5.0, -3.0], [-2.0, -1.0]]
    m = pool(grid, PoolSettings("max", 2, 2, 1))
    assert m.output.tolist() == [[-5, -3], [-2, -1]]  # −∞ padding never wins, even over negatives
    a = pool(grid, PoolSettings("avg", 2, 2, 1))
    assert a.output.tolist() == [[-1.25, -0.75], [-0.5, -0.25]]  # the zeros count: −5 / 4
    assert "MaxPool2d(kernel_size=2, stride=2, padding=1)" in pool_code(m)


@pytest.mark.parametrize("name", INPUT_PRESETS)
def test_input_presets(name):
    grid = input_preset(name, 6)
    assert grid.shape == ((5, 5) if name == "course" else (6, 6))


@pytest.mark.parametrize("name", KERNEL_PRESETS)
@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_kernel_presets(name, size):
    k = kernel_preset(name, size)
    assert k.shape == ((3, 3) if name == "course" else (size, size))
    if name in ("identity", "box_blur", "sharpen"):
        assert float(k.sum()) == pytest.approx(1)  # these keep the overall brightness
    if name.endswith("edge"):
        assert float(k.sum()) == 0  # flat regions give 0


def test_edge_kernels_find_edges_and_need_two_cells():
    vertical = convolve(input_preset("vertical_line", 7), kernel_preset("vertical_edge", 3))
    horizontal = convolve(input_preset("vertical_line", 7), kernel_preset("horizontal_edge", 3))
    assert vertical.output.abs().max() > 0 and horizontal.output.abs().max() == 0
    with pytest.raises(ValueError):
        kernel_preset("vertical_edge", 1)


@settings(max_examples=300, deadline=None)
@given(v=st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([-0.0, -1e-12, -0.0004, -0.4, -0.5]), digits=st.integers(0, 6))
def test_fmt_never_shows_minus_zero(v, digits):
    shown = fmt(v, digits)
    assert float(shown.replace("−", "-")) != 0 or shown == "0"
    assert float(shown) == pytest.approx(round(v, digits), abs=10 ** -digits)


def test_resize_and_fmt():
    assert resize(torch.ones(2, 2, dtype=D), 3, 1).tolist() == [[1], [1], [0]]
    assert [fmt(v) for v in (2.0, -0.5, 1 / 3, 0.0, -0.0, float("-inf"), 1e-9)] == ["2", "-0.5", "0.333", "0", "0", "−∞", "0"]
