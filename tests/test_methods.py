"""The method registry: one object per method, from which the CLI, the shown code and the page's widgets derive."""

from __future__ import annotations

import inspect
import json

import pytest
import torch
from torch import nn

from explainer import methods, saliency
from explainer.attribution_code import captum_code
from explainer.attribution_settings import CHOICE, NUMBER, SETTING, SETTINGS, WHOLE, Settings
from explainer.baselines import BLUR_KERNEL, BLUR_SIGMA, baseline_code, baseline_image
from explainer.cli import build_parser, main
from explainer.i18n import LocalizedError, catalog
from explainer.methods import METHODS, Method, register, registered
from explainer.model import ModelConfig, build_model
from explainer.saliency import attribute, borrowed_copy, pixel_value, same_weights

pytestmark = pytest.mark.filterwarnings("ignore:Setting (forward, )?backward hooks")
NORM = (0.1307, 0.3081)


class DoubleSaliency(methods.Saliency):
    """A method made for the test: twice the saliency map."""

    key = "double-saliency"

    def compute(self, model, x, target, s, normalization):  # noqa: ANN001, ANN201
        return 2 * super().compute(model, x, target, s, normalization)

    def code(self, target, s, normalization):  # noqa: ANN001, ANN201
        return f"attributions = 2 * Saliency(model).attribute(x, target={target}, abs=True)"


@pytest.fixture
def double():
    with registered(DoubleSaliency()) as method:
        yield method
    assert method.key not in METHODS  # gone again after the test


def small_model() -> nn.Module:
    return build_model(ModelConfig(channels=(2, 3), hidden=8), seed=0).eval()


# --- a new method is one object ----------------------------------------------------------------------


def test_a_registered_method_is_offered_by_the_cli(double):
    args = build_parser().parse_args(["saliency", "--method", "double-saliency"])
    assert args.method == "double-saliency"


def test_an_unregistered_method_is_not_offered_by_the_cli(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["saliency", "--method", "double-saliency"])
    assert "invalid choice" in capsys.readouterr().err


def test_a_registered_method_is_computed(double):
    model = small_model()
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    doubled = attribute(model, x, "double-saliency", 3)
    torch.testing.assert_close(doubled.map, 2 * attribute(model, x, "saliency", 3).map)
    assert doubled.method == "double-saliency" and not doubled.signed and doubled.settings == ()


def test_a_registered_method_runs_through_the_cli(double, capsys):
    code = main(["saliency", "--method", "double-saliency", "--index", "3", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doubled = json.loads(out)
    assert main(["saliency", "--method", "saliency", "--index", "3", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    torch.testing.assert_close(torch.tensor(doubled["attribution"]), 2 * torch.tensor(plain["attribution"]))


def test_a_registered_method_prints_its_code(double):
    code = captum_code(["double-saliency", "occlusion"], 5, {})
    assert "attributions = 2 * Saliency(model).attribute(x, target=5, abs=True)" in code
    assert code.startswith("from captum.attr import Occlusion, Saliency")
    compile(code, "<captum>", "exec")


def test_register_refuses_a_second_method_of_the_same_name_and_undeclared_settings():
    with pytest.raises(ValueError, match="registered already"):
        register(methods.Saliency())

    class Odd(Method):
        key = "odd"
        settings = ("temperature",)

    with pytest.raises(ValueError, match="temperature"):
        register(Odd())
    assert "odd" not in METHODS


# --- what each method declares -------------------------------------------------------------------------


def test_the_eight_methods_in_order_with_their_papers():
    assert list(METHODS) == ["saliency", "input-x-gradient", "integrated-gradients", "smoothgrad", "guided-backprop",
                             "grad-cam", "occlusion", "deeplift"]
    for key, method in METHODS.items():
        assert method.key == key and method.paper and method.url.startswith("https://arxiv.org/abs/")
        assert set(method.settings) <= set(SETTING)
        for lang in ("en", "zh"):
            assert catalog(lang)[f"sal.method.{key}"] and catalog(lang)[f"sal.explain.{key}"]


def test_every_setting_is_used_and_has_its_texts_in_both_languages():
    used = {name for method in METHODS.values() for name in method.settings}
    assert used == {s.name for s in SETTINGS}
    for spec in SETTINGS:
        spec.check(spec.default)  # every default passes its own checks
        for lang in ("en", "zh"):
            texts = catalog(lang)
            assert texts[spec.label_key] and texts[spec.help_key]
            if spec.kind == CHOICE:
                assert all(texts[spec.option_key(v)] for v in spec.choices)
            else:
                assert texts[spec.name_key]


def test_the_settings_bounds_and_defaults():
    table = {s.name: (s.kind, s.low, s.high, s.default, s.choices) for s in SETTINGS}
    assert table == {
        "baseline": (CHOICE, None, None, "black", ("black", "blurred", "noise")),
        "steps": (WHOLE, 1, 500, 50, ()),
        "smooth_over": (CHOICE, None, None, "saliency", ("saliency", "integrated-gradients")),
        "samples": (WHOLE, 1, 200, 20, ()),
        "noise": (NUMBER, 0.0, 255.0, 38.0, ()),
        "window": (WHOLE, 1, 28, 4, ()),
        "stride": (WHOLE, 1, 28, 2, ()),
        "layer": (CHOICE, None, None, "conv2", ("conv1", "conv2", "conv3")),
        "seed": (WHOLE, 0, 2**31 - 1, 0, ()),
    }


def test_the_layer_choices_come_from_the_model():
    layer = SETTING["layer"]
    assert layer.options(small_model()) == ("conv1", "conv2") and layer.default_for(small_model()) == "conv2"
    mlp = build_model(ModelConfig(kind="mlp"))
    assert layer.options(mlp) == () and layer.options() == ("conv1", "conv2", "conv3")


def test_settings_are_checked_read_only_hashable_and_picklable():
    import pickle

    s = Settings(steps=7.0, noise=3)
    assert s.steps == 7 and type(s.steps) is int and s["noise"] == 3.0 and s.baseline == "black"
    assert s == Settings(steps=7, noise=3.0) and hash(s) == hash(Settings(steps=7, noise=3.0))
    assert pickle.loads(pickle.dumps(s)) == s and dict(**s)["steps"] == 7
    with pytest.raises(AttributeError):
        s.steps = 3
    with pytest.raises(TypeError):
        Settings(stepz=3)
    with pytest.raises(LocalizedError) as info:
        Settings(seed=-1)
    assert str(info.value) == "The seed must be from 0 to 2147483647, not -1."


@pytest.mark.parametrize("method,given,relevant", [
    ("saliency", {"steps": 0, "window": 2, "stride": 9}, ()),  # the others' settings, even invalid, are ignored
    ("integrated-gradients", {"seed": 5}, (("baseline", "black"), ("steps", 50))),  # the seed only matters for noise
    ("deeplift", {"baseline": "noise", "seed": 5}, (("baseline", "noise"), ("seed", 5))),
    ("smoothgrad", {"steps": 0}, (("smooth_over", "saliency"), ("samples", 20), ("noise", 38.0), ("seed", 0))),
    ("smoothgrad", {"smooth_over": "integrated-gradients", "steps": 9},
     (("smooth_over", "integrated-gradients"), ("samples", 20), ("noise", 38.0), ("seed", 0), ("steps", 9),
      ("baseline", "black"))),
    ("grad-cam", {"layer": "conv1"}, (("layer", "conv1"),)),
    ("occlusion", {"window": 5, "stride": 5}, (("window", 5), ("stride", 5))),
])
def test_which_settings_make_the_cache_key(method, given, relevant):
    assert Settings.for_method(method, **given).relevant(method) == relevant


def test_checks_across_settings_belong_to_their_method():
    Settings.for_method("smoothgrad", samples=200, steps=500)  # over saliency the steps do not count
    with pytest.raises(LocalizedError) as info:
        Settings.for_method("smoothgrad", smooth_over="integrated-gradients", samples=200, steps=500)
    assert info.value.msg.key == "err.sal_work"
    with pytest.raises(LocalizedError) as info:
        Settings.for_method("occlusion", window=3, stride=4)
    assert info.value.msg.key == "err.sal_stride"


def test_signed_maps():
    assert [m for m in METHODS if METHODS[m].is_signed(Settings())] == [
        "input-x-gradient", "integrated-gradients", "guided-backprop", "occlusion", "deeplift"]
    assert METHODS["smoothgrad"].is_signed(Settings(smooth_over="integrated-gradients"))
    assert saliency.is_signed("smoothgrad", Settings(smooth_over="integrated-gradients")) and not saliency.is_signed("smoothgrad")


def test_the_cli_has_one_flag_per_setting_with_the_declared_choices():
    args = build_parser().parse_args(["saliency", "--method", "smoothgrad", "--smooth-over", "integrated-gradients",
                                      "--steps", "3", "--noise", "2.5", "--layer", "conv1", "--baseline", "noise"])
    assert (args.smooth_over, args.steps, args.noise, args.layer, args.baseline) == ("integrated-gradients", 3, 2.5, "conv1", "noise")
    assert all(getattr(args, s.name) is None for s in SETTINGS if s.name in ("samples", "window", "stride", "seed"))


def test_the_code_of_every_method_together_compiles():
    code = captum_code(list(METHODS), 2, {"baseline": "noise", "smooth_over": "integrated-gradients"}, NORM)
    assert all(METHODS[m].code(2, Settings.for_method(m, baseline="noise", smooth_over="integrated-gradients"), NORM) in code
               for m in METHODS)
    assert "x0_noise = " in code and "x0_black = " in code and "x0_blurred" not in code
    compile(code, "<captum>", "exec")


# --- the blurred baseline is torchvision's, the very call shown ------------------------------------------


def test_the_blurred_baseline_is_the_shown_torchvision_call():
    import torchvision

    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    line = baseline_code("blurred", NORM)
    assert f"gaussian_blur(x, kernel_size={BLUR_KERNEL}, sigma={BLUR_SIGMA})" in line and BLUR_KERNEL == 25
    shown: dict = {"torchvision": torchvision, "x": x}
    exec(line, shown)
    assert torch.equal(shown["x0_blurred"], baseline_image(x, "blurred", NORM))
    assert baseline_image(torch.randn(1, 1, 6, 9), "blurred", NORM).shape == (1, 1, 6, 9)  # a small picture: the kernel fits


# --- the private parts of other libraries that we use, and that must fail loudly when they change ----------


def test_captum_occlusion_still_has_the_private_mask_method_we_override():
    """CachedMaskOcclusion overrides Captum's private ``Occlusion._occlusion_mask``: it must exist with these parameters."""
    from captum.attr import Occlusion

    assert list(inspect.signature(Occlusion._occlusion_mask).parameters) == [
        "self", "input", "ablated_feature_num", "sliding_window_tsr", "strides", "shift_counts", "is_expanded_input"]
    assert methods._occlusion_class()._occlusion_mask is not Occlusion._occlusion_mask


@pytest.mark.parametrize("window,stride", [(4, 2), (3, 3), (5, 1), (28, 28)])
def test_cached_masks_give_exactly_captums_own_maps(window, stride):
    from captum.attr import Occlusion

    model = small_model()
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(window))
    options = dict(target=1, sliding_window_shapes=(1, window, window), strides=(1, stride, stride),
                   baselines=pixel_value(0, NORM), perturbations_per_eval=methods.OCCLUSION_BATCH)
    methods._OCCLUSION_MASKS.clear()
    plain = Occlusion(model).attribute(x, **options)
    first = methods._occlusion_class()(model).attribute(x, **options)
    kept = len(methods._OCCLUSION_MASKS)
    again = methods._occlusion_class()(model).attribute(x, **options)  # every mask from the cache
    assert kept > 0 and len(methods._OCCLUSION_MASKS) == kept  # the override is called, and its masks reused
    assert torch.equal(first, plain) and torch.equal(again, plain)


def test_a_spare_copy_is_handed_out_only_while_it_holds_the_models_weights():
    """Spare copies are checked with torch.equal (public API), not with tensors' private version counters."""
    model = small_model()
    saliency._SPARE_COPIES.pop(model, None)
    with borrowed_copy(model) as twin:
        pass
    with borrowed_copy(model) as again:
        assert again is twin  # unchanged: the spare copy is reused
        again.fc2.weight.zero_()  # someone wrote into the copy's own weights
    with borrowed_copy(model) as third:
        assert third is not twin and same_weights(model, third)
    model.fc2.weight = nn.Parameter(model.fc2.weight.detach() * 2)  # a new tensor in the model
    with borrowed_copy(model) as fourth:
        assert fourth is not third and same_weights(model, fourth)
    model.double()  # another dtype
    with borrowed_copy(model) as fifth:
        assert fifth is not fourth and next(fifth.parameters()).dtype == torch.float64
    assert not same_weights(model, build_model(ModelConfig(kind="mlp")))


# --- what a page derives its widgets from ---------------------------------------------------------------


def test_the_widgets_can_be_drawn_from_the_declarations():
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        import streamlit as st

        from explainer.attribution_settings import CHOICE, SETTINGS
        from explainer.i18n import t
        from explainer.model import ModelConfig, build_model

        model = build_model(ModelConfig())
        for spec in SETTINGS:
            if spec.kind != CHOICE:
                st.number_input(t(spec.label_key), **spec.widget, help=t(spec.help_key), key=f"sal_{spec.name}")
            elif options := spec.options(model):
                st.radio(t(spec.label_key), options, index=options.index(spec.default_for(model)),
                         format_func=lambda v, s=spec: t(s.option_key(v)), help=t(spec.help_key), key=f"sal_{spec.name}")

    at = AppTest.from_function(page).run()
    assert not at.exception
    drawn = {w.key.removeprefix("sal_"): w.value for w in [*at.number_input, *at.radio]}
    assert drawn == {s.name: s.default for s in SETTINGS}
    assert [w.label for w in at.radio][0] == "Baseline x₀ (Integrated Gradients, DeepLIFT)"
    assert Settings(**drawn) == Settings()  # what the widgets start at is what the library assumes


def test_the_settings_a_choice_of_methods_uses():
    from explainer.methods import settings_used

    assert [s.name for s in settings_used(["occlusion", "integrated-gradients"])] == ["baseline", "steps", "window",
                                                                                       "stride", "seed"]
    assert settings_used(["saliency", "guided-backprop"]) == ()
    assert settings_used(METHODS) == SETTINGS
    with pytest.raises(TypeError):
        SETTING["layer"].widget  # noqa: B018 - a choice has options, not bounds
