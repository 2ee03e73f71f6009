"""Gradient descent: one weight sliding down a curve along its tangent, then optimizers racing on a surface."""

import plotly.graph_objects as go
import streamlit as st

from explainer.descent import (
    DEFAULT_CONDITION,
    DEFAULT_LR,
    DEFAULT_STEPS,
    ONE_WEIGHT,
    OPTIMIZERS,
    REGIME_LR,
    REGIMES,
    TWO_WEIGHTS,
    get_function,
    lr_sweep,
    race,
    trajectory,
)
from explainer.figures import lr_sweep_figure, one_weight_figure, race_figure
from explainer.figures.descent import num, update_text
from explainer.i18n import LocalizedError
from explainer.ui import ensure_navigation, labeller, language, tr
from explainer.ui.figure_cache import shared_figures
from explainer.ui.links import PageLink, choice, integer, multi, number, page_start, step
from explainer.ui.presenter import aside, plotly_chart
from explainer.ui.widgets import reset_button, show_error, step_control

ensure_navigation()
P = "gd_"
ONE, TWO = P + "one_", P + "two_"
lang = language()
LEARNING_RATES = sorted({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0}
                        | {lr for rates in REGIME_LR.values() for lr in rates.values()}
                        | {DEFAULT_LR[f]["sgd"] for f in ONE_WEIGHT})
LR_SCALES = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
VERDICT_BOX = {"converged": st.success, "oscillating": st.warning, "crawling": st.info, "stuck": st.info, "diverged": st.error}



@st.cache_data(max_entries=64, show_spinner=False)
def _sweep(function: str, start: float, steps: int):  # noqa: ANN202 - LrSweep
    return lr_sweep(function, (start,), steps)


@st.cache_data(max_entries=64, show_spinner=False)
def _race(function: str, optimizers: tuple[str, ...], steps: int, start: tuple[float, float], scale: float, condition: float):  # noqa: ANN202
    return race(function, optimizers, steps, start, scale, condition)


# The figures, shared by every tab (Streamlit only reads a figure): a class moving the same
# sliders asks for the same few, and each costs 10–110 ms of the interpreter they all share.
# Bounded: a race figure holds ~1.2 MB, a tangent animation ~0.6 MB.
@shared_figures(max_entries=64)
def _one_chart(_function, _run, name: str, lr: float, steps: int, start: float, step: int, lang: str) -> go.Figure:  # noqa: ANN001
    return one_weight_figure(_function, _run, step, lang)


@shared_figures(max_entries=32)
def _sweep_chart(_sweep, name: str, start: float, steps: int, lr: float, lang: str) -> go.Figure:  # noqa: ANN001
    return lr_sweep_figure(_sweep, lr, lang)


@shared_figures(max_entries=16)
def _race_chart(_function, _runs, name: str, optimizers: tuple[str, ...], steps: int, start: tuple[float, float], scale: float,  # noqa: ANN001
                condition: float, lang: str) -> go.Figure:
    return race_figure(_function, _runs, lang)


def _one_defaults() -> None:
    """A new curve: its own start, its good rate, back to step 0."""
    name = st.session_state[ONE + "function"]
    st.session_state[ONE + "start"] = get_function(name).start[0]
    st.session_state[ONE + "lr"] = REGIME_LR[name]["good"]
    st.session_state[ONE + "step"] = 1
    st.session_state[ONE + "steps"] = DEFAULT_STEPS[name]


def _set_regime(regime: str) -> None:
    st.session_state[ONE + "lr"] = REGIME_LR[st.session_state.get(ONE + "function", ONE_WEIGHT[0])][regime]
    st.session_state[ONE + "step"] = 1


def _two_defaults() -> None:
    name = st.session_state[TWO + "function"]
    start = get_function(name).start
    st.session_state[TWO + "x"], st.session_state[TWO + "y"] = start
    st.session_state[TWO + "steps"] = DEFAULT_STEPS[name]


CONDITIONS = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
LINK = PageLink("descent", [
    choice("fn", ONE + "function", ONE_WEIGHT).then(lambda _: _one_defaults()),
    number("lr", ONE + "lr", 0.0, 1000.0, options=LEARNING_RATES), number("w", ONE + "start", -1000.0, 1000.0),
    integer("steps", ONE + "steps", 5, 100), step("step", ONE + "step"),
    choice("race", TWO + "function", TWO_WEIGHTS).then(lambda _: _two_defaults()),
    number("cond", TWO + "condition", 1.0, 100.0, options=CONDITIONS),
    number("x", TWO + "x", -1000.0, 1000.0), number("y", TWO + "y", -1000.0, 1000.0), integer("n", TWO + "steps", 10, 500),
    number("scale", TWO + "scale", 0.1, 10.0, options=LR_SCALES), multi("opt", TWO + "optimizers", OPTIMIZERS),
], presenter_key=P + "presenter")
presenting = page_start(LINK, P, "gd")


# --- one weight --------------------------------------------------------------------------------------------
@st.fragment
def one_weight() -> None:
    """The first part; a fragment, so stepping through it does not redraw the race below."""
    st.header(tr("gd.one.title"))
    settings, picture = (aside("gd_one"), st.container()) if presenting else st.columns([1, 2.3], gap="large")
    with settings:
        name = st.selectbox(tr("gd.function"), ONE_WEIGHT, key=ONE + "function", format_func=labeller("gd.fn."),
                            on_change=_one_defaults)
        function = get_function(name)
        st.latex(function.latex)
        low, high = function.domain[0]
        if ONE + "lr" not in st.session_state:  # first visit (or after Reset): this curve's defaults
            _one_defaults()
        if not low <= st.session_state.get(ONE + "start", low) <= high:  # a link's start outside this curve
            st.session_state[ONE + "start"] = function.start[0]
        st.markdown(tr("gd.regimes"))
        cols = st.columns(2)
        for i, regime in enumerate(REGIMES):
            cols[i % 2].button(tr(f"gd.regime.{regime}"), key=f"{ONE}regime_{regime}", on_click=_set_regime, args=(regime,),
                               width="stretch")
        lr = st.select_slider(tr("gd.lr"), LEARNING_RATES, key=ONE + "lr", help=tr("gd.lr_help"))
        start = st.slider(tr("gd.start_w"), float(low), float(high), step=0.1, key=ONE + "start")
        steps = st.slider(tr("gd.steps"), 5, 100, key=ONE + "steps")
        reset_button(ONE)

    run = None
    with picture:
        try:
            run = trajectory(function, "sgd", lr, steps, (start,))
        except ValueError as exc:
            show_error(exc)
    if run is not None:
        with picture:
            step = step_control(ONE + "step", run.taken + 1)
            plotly_chart(_one_chart(function, run, name, float(lr), int(steps), float(start), step, lang), key=ONE + "figure")
            if step < run.taken:
                w, slope = float(run.points[step][0]), float(run.gradients[step][0])
                direction = tr("gd.go_right") if slope < 0 else tr("gd.go_left") if slope > 0 else tr("gd.stay")
                st.markdown(tr("gd.step_explained", k=step + 1, w=num(w), slope=num(slope), direction=direction))
                st.latex(update_text(run, step).replace("←", r"\leftarrow").replace("×", r"\times"))
            VERDICT_BOX[run.verdict](run.message().render(lang))

        st.subheader(tr("gd.sweep.title"))
        st.caption(tr("gd.sweep.caption", steps=steps))
        try:
            sweep = _sweep(name, float(start), int(steps))
        except ValueError as exc:
            show_error(exc)
        else:
            plotly_chart(_sweep_chart(sweep, name, float(start), int(steps), float(lr), lang), key=ONE + "sweep")
    LINK.save()


# --- two weights -------------------------------------------------------------------------------------------
@st.fragment
def two_weights() -> None:
    """The race; a fragment, so changing it does not redraw the part above."""
    st.header(tr("gd.two.title"))
    if not presenting:
        st.markdown(tr("gd.two.intro"))
    with aside("gd_two") if presenting else st.container():
        a, b, c, d = st.columns([1.3, 1, 1, 1.3], gap="medium")
    name2 = a.selectbox(tr("gd.function"), TWO_WEIGHTS, key=TWO + "function", format_func=labeller("gd.fn."), on_change=_two_defaults)
    if TWO + "x" not in st.session_state:
        _two_defaults()
    condition = DEFAULT_CONDITION
    if name2 == "quadratic":
        condition = a.select_slider(tr("gd.condition"), CONDITIONS, value=DEFAULT_CONDITION,
                                    key=TWO + "condition", help=tr("gd.condition_help"))
    x0 = b.number_input(tr("gd.start_x"), step=0.1, key=TWO + "x", format="%.2f")
    y0 = c.number_input(tr("gd.start_y"), step=0.1, key=TWO + "y", format="%.2f")
    b.caption(tr("gd.start_help"))
    steps2 = d.slider(tr("gd.steps"), 10, 500, key=TWO + "steps")
    scale = d.select_slider(tr("gd.lr_scale"), LR_SCALES, value=1.0, key=TWO + "scale", help=tr("gd.lr_scale_help"),
                            format_func=lambda v: f"× {v:g}")
    with aside("gd_two_optimizers") if presenting else st.container():
        chosen = st.multiselect(tr("gd.optimizers"), OPTIMIZERS, default=list(OPTIMIZERS), key=TWO + "optimizers",
                                format_func=labeller("gd.opt."))
        reset_button(TWO)

    runs = None
    try:
        if not chosen:
            raise LocalizedError("err.no_optimizer")
        runs = _race(name2, tuple(chosen), int(steps2), (float(x0), float(y0)), float(scale), float(condition))
    except ValueError as exc:
        show_error(exc)
    if runs:
        function2 = get_function(name2, condition)
        st.latex(function2.latex)
        plotly_chart(_race_chart(function2, runs, name2, tuple(chosen), int(steps2), (float(x0), float(y0)), float(scale),
                                 float(condition), lang), key=TWO + "figure")
        st.caption(tr("gd.race_caption"))
        st.dataframe(
            {
                tr("gd.table.optimizer"): [tr(f"gd.opt.{r.optimizer}") for r in runs],
                tr("gd.table.lr"): [num(r.lr) for r in runs],
                tr("gd.table.steps"): [str(r.converged_at) if r.converged_at is not None else "—" for r in runs],
                tr("gd.table.loss"): [num(r.final_loss) for r in runs],
                tr("gd.table.verdict"): [tr(f"gd.verdict.{r.verdict}") for r in runs],
            },
            hide_index=True, width="stretch",
        )
        for r in runs:
            if r.diverged:
                st.error(r.message().render(lang), icon=":material/error:")
    LINK.save()


one_weight()
st.divider()
two_weights()

if not presenting:
    st.divider()
    st.subheader(tr("stage.notice"))
    st.markdown(tr("gd.notice"))
    st.code(
        "w = torch.tensor([-2.5], requires_grad=True)\n"
        "optimizer = torch.optim.SGD([w], lr=0.3)   # or Adam, RMSprop, Adagrad, SGD(momentum=0.9, nesterov=True)\n"
        "for step in range(30):\n"
        "    optimizer.zero_grad()\n"
        "    loss = 0.5 * (w - 2) ** 2      # L(w)\n"
        "    loss.backward()                # w.grad = dL/dw, the slope of the tangent\n"
        "    optimizer.step()               # w ← w − η·dL/dw",
        language="python",
    )
