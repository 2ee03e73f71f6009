"""Why did it say 7? Where the network looked: Captum's attribution maps of one digit, side by side."""

import streamlit as st
import torch

from explainer.attribution_checks import RANDOM, deletion_test, sanity_check
from explainer.attribution_code import captum_code
from explainer.data import DatasetUnavailable, normalize
from explainer.figures import attribution_figure, deletion_figure, image_figure, sanity_figure, similarity_figure
from explainer.i18n import LocalizedError
from explainer.saliency import BASELINES, METHODS, SMOOTH_OVER, Attribution, Settings, attribute, class_probabilities, conv_layers
from explainer.ui import ensure_navigation, labeller, language, model_or_stop, tr
from explainer.ui.data import shared_dataset
from explainer.ui.digits import choose_digit, digit_param
from explainer.ui.links import PageLink, choice, integer, multi
from explainer.ui.presenter import aside, plotly_chart, presenter_toggle
from explainer.ui.widgets import remember_widgets, restore_widgets, show_error

ensure_navigation()
P = "sal_"
lang = language()

shared = model_or_stop()
meta = shared.meta
classes = list(meta.classes)
digest = shared.checkpoint.digest
layers = conv_layers(shared.model)


def _x(digit: bytes, normalization: tuple[float, float]) -> torch.Tensor:
    pixels = torch.frombuffer(bytearray(digit), dtype=torch.uint8).reshape(1, 28, 28)
    return normalize(pixels, normalization)


@st.cache_data(max_entries=64, show_spinner=False)
def _probabilities(_shared, model_digest: str, digit: bytes) -> torch.Tensor:  # noqa: ANN001 - SharedModel
    return class_probabilities(_shared.model, _x(digit, (_shared.meta.mean, _shared.meta.std)), _shared.lock)


@st.cache_data(max_entries=1024, show_spinner=False)
def _attribution(_shared, model_digest: str, digit: bytes, method: str, target: int, settings: tuple) -> Attribution:  # noqa: ANN001
    """One map, cached per (model, digit, method, class, the method's own settings)."""
    normalization = (_shared.meta.mean, _shared.meta.std)
    return attribute(_shared.model, _x(digit, normalization), method, target, lock=_shared.lock, normalization=normalization,
                     **dict(settings))


@st.cache_data(max_entries=32, show_spinner=False)
def _sanity(_shared, model_digest: str, digit: bytes, target: int, maps: tuple):  # noqa: ANN001, ANN202
    """The sanity check of these (method, its settings) pairs, cached like the maps."""
    normalization = (_shared.meta.mean, _shared.meta.std)
    settings = {name: value for _, pairs in maps for name, value in pairs}
    return sanity_check(_shared.model, _x(digit, normalization), [m for m, _ in maps], target, lock=_shared.lock,
                        normalization=normalization, **settings)


@st.cache_data(max_entries=64, show_spinner=False)
def _deletion(_shared, model_digest: str, digit: bytes, target: int, maps: tuple):  # noqa: ANN001, ANN202
    normalization = (_shared.meta.mean, _shared.meta.std)
    chosen = {m: _attribution(_shared, model_digest, digit, m, target, s).map for m, s in maps}
    return deletion_test(_shared.model, _x(digit, normalization), chosen, target, lock=_shared.lock, normalization=normalization)


WIDGETS = [P + k for k in ("target", "class", "overlay", "methods", "baseline", "steps", "smooth_over", "samples", "noise",
                            "window", "stride", "layer", "tab")]
restore_widgets(*WIDGETS)  # as the teacher left them, after a visit to another page
LINK = PageLink("saliency", [
    digit_param(P), choice("target", P + "target", ["predicted", "true", "other"]),
    integer("class", P + "class", 0, len(classes) - 1), multi("methods", P + "methods", METHODS),
    choice("overlay", P + "overlay", [True, False]),
], presenter_key=P + "presenter")
LINK.load()
presenting = presenter_toggle(P)
title = st.empty()
if not presenting:
    st.markdown(tr("sal.intro"))

try:
    dataset = shared_dataset(meta.dataset)
except DatasetUnavailable:
    dataset = None

chooser, main = (aside("sal_digit"), st.container()) if presenting else st.columns([1, 2.3], gap="large")
with chooser:
    chosen = choose_digit(P, dataset, classes, meta.dataset)
if chosen is None:
    title.title(tr("sal.title_plain"))
    st.stop()

probabilities = _probabilities(shared, digest, chosen.key)
prediction = int(probabilities.argmax())
title.title(tr("sal.title", answer=classes[prediction]))
with chooser:
    plotly_chart(image_figure(chosen.image, tr("fwd.sees"), height=260), key=P + "seen")
    a, b = st.columns(2)
    a.metric(tr("fwd.prediction"), classes[prediction], tr("fwd.confidence", p=f"{float(probabilities[prediction]):.1%}"),
             delta_color="off", delta_arrow="off")
    if chosen.label is not None:
        right = chosen.label == prediction
        b.metric(tr("fwd.truth"), classes[chosen.label], tr("fwd.right") if right else tr("fwd.wrong"),
                 delta_color="normal" if right else "inverse", delta_arrow="off")

# --- which class, which methods, their settings ------------------------------------------------------
with main:
    pick, look = st.columns([2.2, 1], vertical_alignment="bottom")
    with pick:
        options = ["predicted"] + (["true"] if chosen.label is not None else []) + ["other"]
        if st.session_state.get(P + "target") not in options:
            st.session_state[P + "target"] = "predicted"
        names = {"predicted": tr("sal.target.predicted", c=classes[prediction]), "other": tr("sal.target.other"),
                 "true": tr("sal.target.true", c=classes[chosen.label]) if chosen.label is not None else ""}
        how = st.radio(tr("sal.target"), options, key=P + "target", horizontal=True, format_func=names.__getitem__)
    if how == "other":
        with look:
            target = st.selectbox(tr("sal.class"), list(range(len(classes))), index=prediction, key=P + "class",
                                  format_func=classes.__getitem__)
    else:
        target = prediction if how == "predicted" else int(chosen.label)
    with look if how != "other" else st.container():
        overlay = st.toggle(tr("sal.overlay"), value=True, key=P + "overlay", help=tr("sal.overlay_help"))
    available = [m for m in METHODS if layers or not METHODS[m].needs_conv]
    methods = st.pills(tr("sal.methods"), list(METHODS), selection_mode="multi", default=available, key=P + "methods",
                       format_func=labeller("sal.method."), help=tr("sal.methods_help"), wrap=True)
    with aside("sal_settings") if presenting else st.expander(tr("sal.settings"), icon=":material/tune:"):
        c1, c2, c3 = st.columns(3)
        raw = {
            "baseline": c1.radio(tr("sal.baseline"), BASELINES, key=P + "baseline", format_func=labeller("sal.baseline."),
                                 help=tr("sal.baseline_help")),
            "steps": c1.number_input(tr("sal.steps"), 1, 500, 50, key=P + "steps", help=tr("sal.steps_help")),
            "smooth_over": c2.radio(tr("sal.smooth_over"), SMOOTH_OVER, key=P + "smooth_over", horizontal=True,
                                    format_func=labeller("sal.smooth_over.")),
            "samples": c2.number_input(tr("sal.samples"), 1, 200, 20, key=P + "samples"),
            "noise": c2.number_input(tr("sal.noise"), 0.0, 255.0, 38.0, 1.0, key=P + "noise", help=tr("sal.noise_help")),
            "window": c3.number_input(tr("sal.window"), 1, 28, 4, key=P + "window", help=tr("sal.occlusion_help")),
            "stride": c3.number_input(tr("sal.stride"), 1, 28, 2, key=P + "stride", help=tr("sal.occlusion_help")),
        }
        if layers:
            raw["layer"] = c3.radio(tr("sal.layer"), layers, index=len(layers) - 1, key=P + "layer", horizontal=True,
                                    help=tr("sal.layer_help"))

    remember_widgets(*WIDGETS)
    LINK.save()

    # --- the maps ---------------------------------------------------------------------------------
    if not methods:
        st.info(tr("sal.none"), icon=":material/checklist:")
        st.stop()
    results: list[Attribution] = []
    keys: list[tuple[str, tuple]] = []
    with st.spinner(tr("sal.computing")):
        for method in methods:
            try:
                settings = Settings.for_method(method, **raw).relevant(method)
                if METHODS[method].needs_conv and not layers:
                    raise LocalizedError("err.sal_no_conv", method=tr(f"sal.method.{method}"))
                results.append(_attribution(shared, digest, chosen.key, method, target, settings))
                keys.append((method, settings))
            except LocalizedError as exc:
                show_error(exc)
    if results:
        plotly_chart(attribution_figure(chosen.image, results, lang, overlay=overlay, columns=5 if presenting else 3,
                                           panel_height=262),
                        key=P + "maps")
        unsigned = [tr(f"sal.method.{r.method}") for r in results if not r.signed]
        legend = " ".join(([tr("sal.legend_signed", c=classes[target])] if any(r.signed for r in results) else [])
                          + ([tr("sal.legend_absolute", names=tr("sal.list_separator").join(unsigned))] if unsigned else []))
        (st.markdown if presenting else st.caption)(legend)
        for r in results:
            if r.convergence_delta is not None:
                st.caption(tr("sal.delta", name=tr(f"sal.method.{r.method}"), total=f"{float(r.map.sum()):.3f}",
                              change=f"{r.score_change:.3f}", delta=f"{r.convergence_delta:.3g}"))
            if r.method == "grad-cam" and float(r.map.max()) <= 0:
                st.info(tr("sal.gradcam_empty", layer=dict(r.settings)["layer"]), icon=":material/info:")

# --- what each method does, and whether to trust it ---------------------------------------------------
if results:
    explain, sanity, deletion = st.tabs([tr("sal.tab.methods"), tr("sal.tab.sanity"), tr("sal.tab.deletion")],
                                        key=P + "tab", on_change="rerun")
    if explain.open is not False:
        with explain:
            for r in results:
                info = METHODS[r.method]
                st.markdown(tr("sal.explain_line", name=tr(f"sal.method.{r.method}"), text=tr(f"sal.explain.{r.method}"),
                               paper=info.paper, url=info.url))
    if sanity.open:
        with sanity:
            st.markdown(tr("sal.sanity_intro"))
            with st.spinner(tr("sal.randomising")):
                check = _sanity(shared, digest, chosen.key, target, tuple(keys))
            plotly_chart(sanity_figure(check, lang), key=P + "sanity_maps")
            st.caption(tr("sal.sanity_similarity"))
            plotly_chart(similarity_figure(check, lang), key=P + "sanity_similarity")
    if deletion.open:
        with deletion:
            st.markdown(tr("sal.deletion_intro", c=classes[target]))
            curves = _deletion(shared, digest, chosen.key, target, tuple(keys))
            plotly_chart(deletion_figure(curves, classes[target], lang), key=P + "deletion")
            ranked = sorted((c for c in curves if c.method != RANDOM), key=lambda c: c.area)
            reference = next(c for c in curves if c.method == RANDOM)
            st.markdown(tr("sal.deletion_best", name=tr(f"sal.method.{ranked[0].method}"), area=f"{ranked[0].area:.3f}",
                           random=f"{reference.area:.3f}"))

if not presenting:
    st.subheader(tr("stage.notice"))
    st.markdown("\n".join(f"- {tr(f'sal.notice.{i}')}" for i in range(1, 6)))
    if keys:
        st.subheader(tr("stage.code"))
        st.caption(tr("sal.code_intro", c=classes[target]))
        st.code(captum_code([m for m, _ in keys], target, raw, (meta.mean, meta.std)), language="python")
