"""Why did it say 7? Where the network looked: Captum's attribution maps of one digit, side by side."""

import streamlit as st

from explainer.attribution_code import captum_code
from explainer.attribution_settings import CHOICE
from explainer.i18n import LocalizedError
from explainer.methods import settings_used
from explainer.saliency import METHODS, Attribution, Settings, conv_layers
from explainer.ui.state import end_page
from explainer.ui import ensure_navigation, labeller, language, model_or_stop, tr
from explainer.ui.address import bound, option
from explainer.ui.attribution_view import attribution, maps_chart, probabilities, show_view
from explainer.ui.data import digits_to_choose
from explainer.ui.digits import choose_digit, chooser_hidden
from explainer.ui.figure_cache import image_chart
from explainer.ui.presenter import aside, plotly_chart, presenter_toggle
from explainer.ui.widgets import show_error

ensure_navigation()
lang = language()
shared = model_or_stop()
meta = shared.meta
classes = list(meta.classes)
digest = shared.checkpoint.digest
presenting = presenter_toggle()
title = st.empty()
if not presenting:
    st.markdown(tr("sal.intro"))
dataset = digits_to_choose(meta.dataset)

chooser, main = st.columns([1, 3] if presenting else [1, 2.3], gap="large")
with chooser, aside("sal_digit") if chooser_hidden(presenting, dataset) else st.container():  # (a drawing or an upload needs its chooser)
    chosen = choose_digit("sal_", dataset, classes, meta.dataset)
# --- which class, which methods, their settings ------------------------------------------------------
# Drawn before a digit is there, so that a link's settings wait for the digit the student draws.
p = probabilities(shared, digest, chosen.key) if chosen is not None else None
prediction = int(p.argmax()) if p is not None else None
with main:
    pick, look = st.columns([2.2, 1], vertical_alignment="bottom")
    names = {"predicted": tr("sal.target.predicted", c=classes[prediction] if p is not None else "?"),
             "other": tr("sal.target.other")}
    if chosen is not None and chosen.label is not None:
        names["true"] = tr("sal.target.true", c=classes[chosen.label])
    how = option(pick.radio, tr("sal.target"), [k for k in ("predicted", "true", "other") if k in names], key="sal_target",
                 horizontal=True, format_func=names.__getitem__)
    target = {"predicted": prediction, "true": chosen.label if chosen is not None else None}.get(how)
    if how == "other":
        target = option(look.selectbox, tr("sal.class"), list(range(len(classes))), index=prediction or 0, key="sal_class",
                        format_func=classes.__getitem__)
    overlay = bound((look if how != "other" else st).toggle, tr("sal.overlay"), value=True, key="sal_overlay",
                                                       help=tr("sal.overlay_help"))
    usable = [m for m in METHODS if conv_layers(shared.model) or not METHODS[m].needs_conv]
    methods = option(st.pills, tr("sal.methods"), list(METHODS), selection_mode="multi", default=usable, key="sal_methods",
                     format_func=labeller("sal.method."), help=tr("sal.methods_help"), wrap=True)
    raw = {}
    with aside("sal_settings") if presenting else st.expander(tr("sal.settings"), icon=":material/tune:"):
        used = [spec for spec in settings_used(methods) if spec.kind != CHOICE or spec.options(shared.model)]
        for col, spec in zip(st.columns(3) * len(used), used):
            with col:
                if spec.kind == CHOICE:
                    options = spec.options(shared.model)
                    raw[spec.name] = option(st.radio, tr(spec.label_key), options, key=f"sal_{spec.name}",
                                            index=options.index(spec.default_for(shared.model)),
                                            format_func=labeller(f"sal.choice.{spec.name}."), help=tr(spec.help_key))
                else:
                    raw[spec.name] = bound(st.number_input, tr(spec.label_key), **spec.widget, key=f"sal_{spec.name}",
                                                     help=tr(spec.help_key))

    # --- the maps ---------------------------------------------------------------------------------
    if chosen is None:
        title.title(tr("sal.title_plain"))
        end_page()
    title.title(tr("sal.title", answer=classes[prediction]))
    with chooser:
        st.markdown(f"**{tr('fwd.sees')}**")  # above, not in the figure: its title did not fit the column
        plotly_chart(image_chart(chosen.image, height=240), key="sal_seen")
        a, b = (st.container(), st.container()) if presenting else st.columns(2)  # (stacked on a projector: room for the numbers)
        a.metric(tr("fwd.prediction"), classes[prediction], tr("fwd.confidence", p=f"{float(p[prediction]):.1%}"), delta_color="off",
                 delta_arrow="off")
        if chosen.label is not None:
            b.metric(tr("fwd.truth"), classes[chosen.label], tr("fwd.right") if chosen.label == prediction else tr("fwd.wrong"),
                     delta_color="normal" if chosen.label == prediction else "inverse", delta_arrow="off")
    if not methods:
        st.info(tr("sal.none"), icon=":material/checklist:")
        end_page()
    results: list[Attribution] = []
    keys: list[tuple[str, tuple]] = []
    with st.spinner(tr("sal.computing")):
        for method in methods:
            try:
                settings = Settings.for_method(method, **{n: v for n, v in raw.items() if n in METHODS[method].settings})
                settings = settings.relevant(method)
                results.append(attribution(shared, digest, chosen.key, method, target, settings))
                keys.append((method, settings))
            except LocalizedError as exc:
                show_error(exc)
    if results:
        with st.container(key="sal_maps_view"):
            plotly_chart(maps_chart(chosen.image, results, digest, chosen.key, (tuple(keys), target), overlay,
                                    300 if presenting else 262, lang),
                         key="sal_maps")
        unsigned = [tr(f"sal.method.{r.method}") for r in results if not r.signed]
        legend = ([tr("sal.legend_signed", c=classes[target])] if any(r.signed for r in results) else []) + (
            [tr("sal.legend_absolute", names=tr("sal.list_separator").join(unsigned))] if unsigned else [])
        (st.markdown if presenting else st.caption)(" ".join(legend))
        for r in results:
            if r.convergence_delta is not None:
                st.caption(tr("sal.delta", name=tr(f"sal.method.{r.method}"), total=f"{float(r.map.sum()):.3f}",
                              change=f"{r.score_change:.3f}", delta=f"{r.convergence_delta:.3g}"))
            if r.method == "grad-cam" and float(r.map.max()) <= 0:
                st.info(tr("sal.gradcam_empty", layer=dict(r.settings)["layer"]), icon=":material/info:")

# --- what each method does, and whether to trust it ---------------------------------------------------
if results:
    # A keyed control rather than st.tabs: it keeps its place when the language changes.
    view = option(st.segmented_control, tr("sal.view"), ["methods", "sanity", "deletion"], key="sal_tab", default="methods",
                  required=True, format_func=labeller("sal.tab."), label_visibility="collapsed")
    show_view(view, shared, chosen.key, target, results, tuple(keys), classes)
if not presenting:
    st.subheader(tr("stage.notice"))
    st.markdown("\n".join(f"- {tr(f'sal.notice.{i}')}" for i in range(1, 6)))
    if keys:
        st.subheader(tr("stage.code"))
        st.caption(tr("sal.code_intro", c=classes[target]))
        st.code(captum_code([m for m, _ in keys], target, raw, (meta.mean, meta.std)), language="python")
