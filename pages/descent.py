"""Gradient descent: one weight sliding down a curve along its tangent, then optimizers racing on a surface."""

import streamlit as st

from explainer.descent import (
    DEFAULT_CONDITION,
    ONE_WEIGHT,
    OPTIMIZERS,
    REGIME_LR,
    REGIMES,
    TWO_WEIGHTS,
    get_function,
    trajectory,
)
from explainer.descent_bounds import CONDITIONS, LEARNING_RATES, LR_SCALES, ONE_STEPS, TWO_STEPS, one_weight_start, race_start
from explainer.figures.descent import num, update_text
from explainer.i18n import LocalizedError
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.address import bound, option
from explainer.ui.figure_cache import one_weight_chart, race_chart, race_runs, sweep_chart, sweep_of
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import assign, follow, page_start, reset_button, show_error, stepper

ensure_navigation()
lang = language()
presenting = page_start("gd")
VERDICT_BOX = {"converged": st.success, "oscillating": st.warning, "crawling": st.info, "stuck": st.info, "diverged": st.error}


# --- one weight --------------------------------------------------------------------------------------------
st.header(tr("gd.one.title"))
settings, picture = (aside("gd_one"), st.container()) if presenting else st.columns([1, 2.3], gap="large")
with settings:
    name = option(st.selectbox, tr("gd.function"), ONE_WEIGHT, key="gd_one_function", format_func=labeller("gd.fn."),
                  on_change=follow, args=("gd_one_function", lambda n: {f"gd_one_{k}": v for k, v in one_weight_start(n).items()}))
    function, defaults = get_function(name), one_weight_start(name)
    st.latex(function.latex)
    st.markdown(tr("gd.regimes"))
    for i, (col, regime) in enumerate(zip(st.columns(2) * 2, REGIMES)):
        col.button(tr(f"gd.regime.{regime}"), key=f"gd_one_regime_{regime}", width="stretch", on_click=assign,
                   args=({"gd_one_lr": REGIME_LR[name][regime], "gd_one_step": 1},))
    lr = bound(st.select_slider, tr("gd.lr"), LEARNING_RATES, value=defaults["lr"], key="gd_one_lr",
                          help=tr("gd.lr_help"))
    (low, high), = function.domain
    start = bound(st.slider, tr("gd.start_w"), float(low), float(high), defaults["start"], step=0.1, key="gd_one_start")
    steps = bound(st.slider, tr("gd.steps"), *ONE_STEPS, defaults["steps"], key="gd_one_steps")
    reset_button("gd_one_")

with picture:
    try:
        run = trajectory(function, "sgd", lr, steps, (start,))
    except ValueError as exc:
        show_error(exc)
        run = None


def show_step(step: int) -> None:
    """The curve at one step, the update written out, and how the run ends."""
    plotly_chart(one_weight_chart(function, run, name, float(lr), int(steps), float(start), step, lang), key="gd_one_figure")
    if step < run.taken:
        w, slope = float(run.points[step][0]), float(run.gradients[step][0])
        direction = tr("gd.go_right") if slope < 0 else tr("gd.go_left") if slope > 0 else tr("gd.stay")
        st.markdown(tr("gd.step_explained", k=step + 1, w=num(w), slope=num(slope), direction=direction))
        st.latex(update_text(run, step).replace("←", r"\leftarrow").replace("×", r"\times"))
    VERDICT_BOX[run.verdict](run.message().render(lang))


if run is not None:
    with picture:
        stepper("gd_one_step", run.taken + 1, show_step)
        st.subheader(tr("gd.sweep.title"))
        st.caption(tr("gd.sweep.caption", steps=steps))
        try:
            plotly_chart(sweep_chart(sweep_of(name, float(start), int(steps)), name, float(start), int(steps), float(lr), lang),
                         key="gd_one_sweep")
        except ValueError as exc:
            show_error(exc)

# --- two weights -------------------------------------------------------------------------------------------
st.divider()
st.header(tr("gd.two.title"))
if not presenting:
    st.markdown(tr("gd.two.intro"))
with aside("gd_two") if presenting else st.container():
    a, b, c, d = st.columns([1.3, 1, 1, 1.3], gap="medium")
name2 = option(a.selectbox, tr("gd.function"), TWO_WEIGHTS, key="gd_two_function", format_func=labeller("gd.fn."),
               on_change=follow, args=("gd_two_function", lambda n: {f"gd_two_{k}": v for k, v in race_start(n).items()}))
condition = DEFAULT_CONDITION
if name2 == "quadratic":
    condition = bound(a.select_slider, tr("gd.condition"), CONDITIONS, value=DEFAULT_CONDITION, key="gd_two_condition", help=tr("gd.condition_help"))
start2 = race_start(name2)
x0 = bound(b.number_input, tr("gd.start_x"), value=start2["x"], step=0.1, format="%.2f", key="gd_two_x")
y0 = bound(c.number_input, tr("gd.start_y"), value=start2["y"], step=0.1, format="%.2f", key="gd_two_y")
b.caption(tr("gd.start_help"))
steps2 = bound(d.slider, tr("gd.steps"), *TWO_STEPS, start2["steps"], key="gd_two_steps")
scale = option(d.select_slider, tr("gd.lr_scale"), LR_SCALES, value=1.0, key="gd_two_scale", help=tr("gd.lr_scale_help"),
               format_func=lambda v: f"× {v:g}")
with aside("gd_two_optimizers") if presenting else st.container():
    chosen = option(st.multiselect, tr("gd.optimizers"), OPTIMIZERS, default=list(OPTIMIZERS), key="gd_two_optimizers",
                    format_func=labeller("gd.opt."))
    reset_button("gd_two_")
names = {"all": tr("gd.focus_all"), **{o: tr(f"gd.opt.{o}") for o in chosen}}
focus = option(st.segmented_control, tr("gd.focus"), list(names), key="gd_two_focus", default="all", required=True,
               format_func=names.__getitem__, help=tr("gd.focus_help"))
try:
    if not chosen:
        raise LocalizedError("err.no_optimizer")
    race_key = (name2, tuple(chosen), int(steps2), (float(x0), float(y0)), float(scale), float(condition))
    runs = race_runs(*race_key)
except ValueError as exc:
    show_error(exc)
    runs = None
if runs:
    function2 = get_function(name2, condition)
    st.latex(function2.latex)
    plotly_chart(race_chart(function2, runs, race_key, None if focus == "all" else focus, lang), key="gd_two_figure")
    st.caption(tr("gd.race_caption"))
    st.dataframe({tr("gd.table.optimizer"): [tr(f"gd.opt.{r.optimizer}") for r in runs], tr("gd.table.lr"): [num(r.lr) for r in runs],
                  tr("gd.table.steps"): [str(r.converged_at) if r.converged_at is not None else "—" for r in runs],
                  tr("gd.table.loss"): [num(r.final_loss) for r in runs], tr("gd.table.verdict"): [tr(f"gd.verdict.{r.verdict}") for r in runs]},
                 hide_index=True, width="stretch")
    for r in runs:
        if r.diverged:
            st.error(r.message().render(lang), icon=":material/error:")

if not presenting:
    st.divider()
    st.subheader(tr("stage.notice"))
    st.markdown(tr("gd.notice"))
    st.code("w = torch.tensor([-2.5], requires_grad=True)\n"
            "optimizer = torch.optim.SGD([w], lr=0.3)   # or Adam, RMSprop, Adagrad, SGD(momentum=0.9, nesterov=True)\n"
            "for step in range(30):\n    optimizer.zero_grad()\n    loss = 0.5 * (w - 2) ** 2      # L(w)\n"
            "    loss.backward()                # w.grad = dL/dw, the slope of the tangent\n"
            "    optimizer.step()               # w ← w − η·dL/dw", language="python")
