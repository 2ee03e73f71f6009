"""Attribution maps against hand-computable cases, and the promise that the model is never touched."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer import methods, saliency
from explainer.attribution_checks import (
    LEARNED,
    RANDOM,
    deletion_order,
    deletion_test,
    randomisable_layers,
    ranks,
    sanity_check,
    spearman,
)
from explainer.attribution_code import captum_code
from explainer.checkpoint import load_shipped
from explainer.i18n import LocalizedError
from explainer.model import ModelConfig, build_model
from explainer.saliency import METHODS, Settings, attribute, baseline_image, gaussian_blur, pixel_value

# Captum announces each hook it sets and removes (the app silences these; pytest resets warning filters).
pytestmark = pytest.mark.filterwarnings("ignore:Setting (forward, )?backward hooks")
NORM = (0.1307, 0.3081)
FAST = {"steps": 8, "samples": 4}  # enough to test the plumbing, quick on two cores


@pytest.fixture(scope="module")
def digits(mnist5k):
    x, y = mnist5k.tensors("test", limit=4)
    return x, y


@pytest.fixture(scope="module")
def shipped():
    return load_shipped().model


def linear_model(seed: int = 0) -> torch.nn.Module:
    """Softmax regression: logits = W·x + b, the one model whose gradients we know by heart."""
    model = build_model(ModelConfig(kind="softmax"), seed=seed).eval()
    with torch.no_grad():
        model.fc.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(seed))
    return model


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) + len(m._backward_pre_hooks)
               for m in model.modules())


# --- hand-computable cases on a linear model ---------------------------------------------------------


def test_saliency_of_a_linear_model_is_its_weights(digits):
    model = linear_model()
    x = digits[0][:1]
    for target in (0, 3, 9):
        a = attribute(model, x, "saliency", target)
        torch.testing.assert_close(a.map, model.fc.weight[target].detach().abs().reshape(28, 28))
        assert not a.signed and a.kind == "absolute"


@given(seed=st.integers(0, 10_000), target=st.integers(0, 9))
@settings(max_examples=15, deadline=None)
def test_input_x_gradient_of_a_linear_model_is_x_times_w(seed, target):
    model = linear_model(seed % 7)
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    a = attribute(model, x, "input-x-gradient", target)
    torch.testing.assert_close(a.map, (x[0, 0] * model.fc.weight[target].detach().reshape(28, 28)))
    assert a.signed


@pytest.mark.parametrize("method", ["integrated-gradients", "deeplift"])
@pytest.mark.parametrize("baseline", ["black", "blurred", "noise"])
def test_on_a_linear_model_ig_and_deeplift_are_exact(digits, method, baseline):
    """For s(x) = w·x + b every path gives (x − x₀)·w, and the completeness gap is 0."""
    model = linear_model()
    x = digits[0][:1]
    a = attribute(model, x, method, 4, baseline=baseline, steps=5, normalization=NORM)
    x0 = baseline_image(x, baseline, NORM, 0)
    torch.testing.assert_close(a.map, ((x - x0)[0, 0] * model.fc.weight[4].detach().reshape(28, 28)), atol=1e-5, rtol=1e-4)
    assert a.convergence_delta < 1e-3


@pytest.mark.parametrize("baseline", ["black", "blurred", "noise"])
def test_integrated_gradients_add_up_to_the_change_in_score(shipped, digits, baseline):
    x, y = digits
    target = int(y[1])
    a = attribute(shipped, x[1:2], "integrated-gradients", target, baseline=baseline, steps=50, normalization=NORM)
    x0 = baseline_image(x[1:2], baseline, NORM, 0)
    with torch.no_grad():
        change = float(shipped(x[1:2])[0, target] - shipped(x0)[0, target])
    assert a.score_change == pytest.approx(change, abs=1e-4)
    assert abs(float(a.map.sum()) - change) <= a.convergence_delta + 1e-3  # within the reported delta
    assert a.convergence_delta < 0.05 * abs(change)  # and 50 steps make it small
    fewer = attribute(shipped, x[1:2], "integrated-gradients", target, baseline=baseline, steps=4, normalization=NORM)
    assert fewer.convergence_delta > a.convergence_delta  # more steps, better approximation


def test_baselines():
    x = torch.randn(1, 1, 28, 28)
    torch.testing.assert_close(baseline_image(x, "black", NORM), torch.full_like(x, pixel_value(0, NORM)))
    flat = torch.full((1, 1, 28, 28), 0.7)
    torch.testing.assert_close(gaussian_blur(flat, 4.0), flat)  # blurring keeps a flat picture
    blurred = baseline_image(x, "blurred", NORM)
    assert blurred.shape == x.shape and float(blurred.std()) < float(x.std()) / 2
    noise = baseline_image(x, "noise", NORM, seed=3)
    assert pixel_value(0, NORM) - 1e-6 <= float(noise.min()) and float(noise.max()) <= pixel_value(255, NORM) + 1e-6
    torch.testing.assert_close(noise, baseline_image(x, "noise", NORM, seed=3))


# --- every method, every model -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["simplecnn", "mlp", "softmax"])
def test_every_method_gives_a_finite_28x28_map_on_every_model(digits, kind):
    model = build_model(ModelConfig(kind=kind), seed=0).eval()
    x = digits[0][:1]
    for method in METHODS:
        if METHODS[method].needs_conv and kind != "simplecnn":
            with pytest.raises(LocalizedError) as info:
                attribute(model, x, method, 1, **FAST)
            assert info.value.msg.key == "err.sal_no_conv"
            continue
        a = attribute(model, x, method, 1, **FAST)
        assert a.map.shape == (28, 28) and a.map.dtype == torch.float32 and torch.isfinite(a.map).all(), method
        assert a.method == method and a.target == 1 and a.seconds > 0
        if not a.signed:
            assert float(a.map.min()) >= 0
        assert (a.convergence_delta is not None) == (method in ("integrated-gradients", "deeplift"))


@pytest.mark.parametrize("layer,side", [("conv1", 28), ("conv2", 14)])
def test_grad_cam_keeps_the_layers_own_map(shipped, digits, layer, side):
    a = attribute(shipped, digits[0][:1], "grad-cam", int(digits[1][0]), layer=layer)
    assert a.coarse.shape == (side, side) and a.map.shape == (28, 28)
    assert float(a.coarse.min()) >= 0 and float(a.map.min()) >= 0
    assert dict(a.settings) == {"layer": layer}


def test_grad_cam_of_conv2_points_at_the_digit(shipped, digits):
    x, y = digits
    for i in range(4):
        a = attribute(shipped, x[i : i + 1], "grad-cam", int(y[i]))
        assert float(a.map.max()) > 0  # not an empty map


def test_batched_occlusion_equals_one_window_at_a_time(digits):
    from captum.attr import Occlusion

    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    x = digits[0][:1]
    ours = attribute(model, x, "occlusion", 2, window=5, stride=3, normalization=NORM)
    plain = Occlusion(model).attribute(x, target=2, sliding_window_shapes=(1, 5, 5), strides=(1, 3, 3),
                                       baselines=pixel_value(0, NORM), perturbations_per_eval=1)
    torch.testing.assert_close(ours.map, plain[0, 0].detach(), atol=1e-5, rtol=1e-4)


def test_smoothgrad_is_seeded_and_is_saliency_without_noise(shipped, digits):
    x, t = digits[0][:1], int(digits[1][0])
    a = attribute(shipped, x, "smoothgrad", t, samples=5)
    torch.testing.assert_close(a.map, attribute(shipped, x, "smoothgrad", t, samples=5).map)
    assert not torch.equal(a.map, attribute(shipped, x, "smoothgrad", t, samples=5, seed=1).map)
    torch.testing.assert_close(attribute(shipped, x, "smoothgrad", t, samples=3, noise=0).map,
                               attribute(shipped, x, "saliency", t).map)
    over_ig = attribute(shipped, x, "smoothgrad", t, samples=3, smooth_over="integrated-gradients", steps=10)
    assert torch.isfinite(over_ig.map).all() and ("steps", 10) in over_ig.settings
    assert over_ig.signed and not a.signed  # averaged IG keeps its sign; averaged saliency is a size


# --- the model is never touched ---------------------------------------------------------------------


@pytest.mark.parametrize("method", list(METHODS))
def test_no_hooks_left_and_mode_weights_and_flags_unchanged(digits, method):
    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).train()  # a model in training mode, even
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attributes = {name: set(vars(m)) for name, m in model.named_modules()}
    lock = threading.Lock()
    attribute(model, digits[0][:1], method, 3, lock=lock, **FAST)
    assert model.training and all(m.training for m in model.modules())
    assert _hooks(model) == 0 and not lock.locked()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    assert {name: set(vars(m)) for name, m in model.named_modules()} == attributes


def test_the_model_is_copied_only_while_holding_its_lock(shipped, digits):
    saliency._SPARE_COPIES.clear()  # a spare copy would not need the model at all
    lock = threading.Lock()
    done = threading.Event()
    lock.acquire()  # as a forward trace on another thread does while its hooks are on the model
    worker = threading.Thread(target=lambda: (attribute(shipped, digits[0][:1], "guided-backprop", 0, lock=lock), done.set()))
    worker.start()
    time.sleep(0.3)
    assert not done.is_set()
    lock.release()
    worker.join(30)
    assert done.is_set()


@pytest.mark.parametrize("method", list(METHODS))
def test_a_spare_copy_gives_the_same_map_and_a_changed_model_gets_a_fresh_one(digits, method):
    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    x = digits[0][:1]
    first = attribute(model, x, method, 3, **FAST)
    assert len(saliency._SPARE_COPIES[model]) == 1  # kept for the next call
    again = attribute(model, x, method, 3, **FAST)  # on the spare copy
    torch.testing.assert_close(again.map, first.map)
    with torch.no_grad():
        model.fc2.weight.mul_(-1)  # edited in place: the spare copy no longer matches the model
    fresh = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    with torch.no_grad():
        fresh.fc2.weight.mul_(-1)
    torch.testing.assert_close(attribute(model, x, method, 3, **FAST).map, attribute(fresh, x, method, 3, **FAST).map)


def test_occlusion_masks_kept_between_calls_give_captums_own_answer(digits):
    from captum.attr import Occlusion

    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    x = digits[0][:1]
    for window, stride in ((4, 2), (3, 3), (4, 2)):  # the second (4, 2) call uses the kept masks
        ours = attribute(model, x, "occlusion", 1, window=window, stride=stride, normalization=NORM)
        plain = Occlusion(model).attribute(x, target=1, sliding_window_shapes=(1, window, window), strides=(1, stride, stride),
                                           baselines=pixel_value(0, NORM), perturbations_per_eval=64)
        torch.testing.assert_close(ours.map, plain[0, 0].detach(), atol=1e-5, rtol=1e-4)
    assert methods._OCCLUSION_MASKS


def test_two_threads_at_once_get_what_each_alone_gets(shipped, digits):
    x, y = digits
    jobs = [(method, i, int(t)) for method in ("guided-backprop", "grad-cam", "deeplift", "integrated-gradients")
            for i, t in enumerate(y.tolist()[:2])]
    alone = {job: attribute(shipped, x[job[1] : job[1] + 1], job[0], job[2], steps=16).map for job in jobs}
    lock, results, errors = threading.Lock(), {}, []

    def work(part: list) -> None:
        try:
            for _ in range(3):
                for job in part:
                    results[job] = attribute(shipped, x[job[1] : job[1] + 1], job[0], job[2], lock=lock, steps=16).map
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(jobs[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and set(results) == set(jobs)
    for job in jobs:
        torch.testing.assert_close(results[job], alone[job])
    assert _hooks(shipped) == 0


# --- refusing what cannot be computed --------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,target,options,key",
    [
        ("nope", 0, {}, "err.unknown_choice"),
        ("saliency", 10, {}, "err.sal_target"),
        ("saliency", -1, {}, "err.sal_target"),
        ("saliency", True, {}, "err.sal_target"),
        ("integrated-gradients", 0, {"steps": 0}, "err.out_of_range"),
        ("integrated-gradients", 0, {"steps": 2.5}, "err.not_whole"),
        ("integrated-gradients", 0, {"steps": 10_000}, "err.out_of_range"),
        ("integrated-gradients", 0, {"baseline": "grey"}, "err.unknown_choice"),
        ("smoothgrad", 0, {"noise": float("nan")}, "err.sal_noise"),
        ("smoothgrad", 0, {"noise": 1e9}, "err.sal_noise"),
        ("smoothgrad", 0, {"samples": 0}, "err.out_of_range"),
        ("smoothgrad", 0, {"smooth_over": "integrated-gradients", "samples": 200, "steps": 500}, "err.sal_work"),
        ("occlusion", 0, {"window": 4, "stride": 5}, "err.sal_stride"),
        ("occlusion", 0, {"window": 0}, "err.out_of_range"),
        ("grad-cam", 0, {"layer": "fc1"}, "err.unknown_choice"),
    ],
)
def test_invalid_settings_are_refused_with_a_message(method, target, options, key):
    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    with pytest.raises(LocalizedError) as info:
        attribute(model, torch.zeros(1, 1, 28, 28), method, target, **options)
    assert info.value.msg.key == key
    assert info.value.message("zh") != str(info.value)  # there is a Chinese sentence too


def test_a_method_ignores_the_settings_of_the_others():
    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    a = attribute(model, torch.zeros(1, 1, 28, 28), "saliency", 0, window=4, stride=9, steps=0)
    assert a.settings == ()
    with pytest.raises(TypeError):
        attribute(model, torch.zeros(1, 1, 28, 28), "saliency", 0, stepz=3)
    assert Settings.for_method("integrated-gradients", baseline="noise", seed=4).relevant("integrated-gradients") == (
        ("baseline", "noise"), ("steps", 50), ("seed", 4))


@pytest.mark.parametrize("x,key", [(torch.zeros(2, 1, 28, 28), "err.sal_input"), (torch.zeros(1, 3, 28, 28), "err.sal_input"),
                                   (torch.full((1, 1, 28, 28), float("nan")), "err.sal_not_finite")])
def test_one_finite_grayscale_image(x, key):
    with pytest.raises(LocalizedError) as info:
        attribute(linear_model(), x, "saliency", 0)
    assert info.value.msg.key == key
    assert attribute(linear_model(), torch.zeros(28, 28), "saliency", 0).map.shape == (28, 28)


def test_captum_code_follows_the_settings():
    code = captum_code(["integrated-gradients", "smoothgrad", "grad-cam", "occlusion"], 7,
                       {"baseline": "blurred", "steps": 20, "layer": "conv1", "window": 6, "stride": 3})
    assert "n_steps=20" in code and "x0_blurred = " in code and "baselines=x0_blurred" in code
    assert "model.relu1" in code and "sliding_window_shapes=(1, 6, 6)" in code and "target=7" in code
    compile(code, "<captum>", "exec")


# --- sanity check and deletion test ------------------------------------------------------------------


def test_ranks_and_spearman_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    a = torch.tensor([3.0, 1.0, 1.0, 0.0, 5.0, 5.0, 5.0])
    torch.testing.assert_close(ranks(a), torch.tensor(stats.rankdata(a.numpy()), dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        x, y = torch.randn(50, generator=g).round(decimals=1), torch.randn(50, generator=g)
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x.numpy(), y.numpy()).statistic, abs=1e-9)
    assert spearman(a, a) == pytest.approx(1) and spearman(a, -a) == pytest.approx(-1)
    assert spearman(torch.zeros(5), torch.zeros(5)) == 1 and spearman(torch.zeros(5), a[:5]) == 0


def test_sanity_check_randomises_from_the_top_on_a_copy(digits):
    model = build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert randomisable_layers(model) == ["fc2", "fc1", "conv2", "conv1"]
    check = sanity_check(model, digits[0][:1], ["saliency", "grad-cam"], 2, lock=threading.Lock())
    assert check.stages == (LEARNED, "fc2", "fc1", "conv2", "conv1") and check.methods == ("saliency", "grad-cam")
    assert check.similarity.shape == (5, 2) and torch.allclose(check.similarity[0], torch.ones(2, dtype=check.similarity.dtype))
    assert not torch.equal(check.maps[0][0].map, check.maps[-1][0].map)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()) and _hooks(model) == 0


def test_deletion_curves_start_at_the_prediction_and_end_black(shipped, digits):
    x, y = digits
    target = int(y[0])
    maps = {m: attribute(shipped, x[:1], m, target, normalization=NORM).map for m in ("integrated-gradients", "saliency")}
    curves = deletion_test(shipped, x[:1], maps, target, normalization=NORM, steps=20)
    assert [c.method for c in curves] == ["integrated-gradients", "saliency", RANDOM]
    black = torch.full((1, 1, 28, 28), pixel_value(0, NORM))
    with torch.no_grad():
        p_digit = float(torch.softmax(shipped(x[:1]), 1)[0, target])
        p_black = float(torch.softmax(shipped(black), 1)[0, target])
    for c in curves:
        assert c.fractions.shape == c.probabilities.shape == (21,)
        assert float(c.fractions[0]) == 0 and float(c.fractions[-1]) == 1
        assert float(c.probabilities[0]) == pytest.approx(p_digit, abs=1e-5)
        assert float(c.probabilities[-1]) == pytest.approx(p_black, abs=1e-5)
        assert 0 <= c.area <= 1
    by_name = {c.method: c.area for c in curves}
    assert by_name["integrated-gradients"] < by_name[RANDOM]  # the network's own evidence goes first


def test_deletion_order_puts_the_largest_first_and_breaks_ties_by_seed():
    values = torch.tensor([0.0, 5.0, 1.0, 0.0, 0.0, 3.0])
    order = deletion_order(values, seed=0)
    assert order[:3].tolist() == [1, 5, 2] and sorted(order[3:].tolist()) == [0, 3, 4]
    assert torch.equal(order, deletion_order(values, seed=0))


# --- figures ---------------------------------------------------------------------------------------------


def test_signed_maps_are_centred_at_zero_and_absolute_maps_start_there(shipped, digits):
    from explainer.figures import attribution_figure, deletion_figure

    x, t = digits[0][:1], int(digits[1][0])
    results = [attribute(shipped, x, m, t, **FAST) for m in ("input-x-gradient", "grad-cam", "saliency")]
    image = (digits[0][0, 0] * 0.3081 + 0.1307).mul(255).round().clamp(0, 255).to(torch.uint8).numpy()
    plain = attribution_figure(image, results, "en", overlay=False)
    maps = [d for d in plain.data]
    assert len(maps) == 4  # grad-cam's 14×14 grid comes right after grad-cam
    assert maps[0].zmin == -maps[0].zmax and maps[0].colorscale[0][1] != maps[0].colorscale[-1][1]  # diverging
    assert all(m.zmin == 0 for m in maps[1:]) and len(maps[2].z) == 14
    titles = [a.text for a in plain.layout.annotations]
    assert titles == ["Input × Gradient", "Grad-CAM · conv2", "Grad-CAM · its 14×14 grid", "Saliency"]
    over = attribution_figure(image, results, "zh", overlay=True)
    assert len(over.data) == 4 + 3  # the digit under each 28×28 map
    assert over.layout.annotations[0].text == "输入 × 梯度"
    curves = deletion_test(shipped, x, {r.method: r.map for r in results}, t, steps=10)
    names = [d.name for d in deletion_figure(curves, "6", "en").data]
    assert names[-1].startswith("random order · area ") and len(names) == 4
