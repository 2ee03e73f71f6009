"""Figures built once and only read: frozen figures send the same chart, kept figures live as long as their owner,
and the app's lean template keeps plotly_white's look."""

from __future__ import annotations

import gc

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools
import pytest

from explainer.figures import image_figure, race_figure
from explainer.figures.common import enlarged
from explainer.descent import get_function, race
from explainer.ui.figure_cache import FrozenFigure, freeze, kept_with


def streamlit_spec(figure: go.Figure | dict) -> str:
    """What ``st.plotly_chart`` sends for a figure (streamlit/elements/plotly_chart.py, 1.67)."""
    return pio.to_json(plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True), validate=False)


@pytest.fixture(scope="module")
def race_chart() -> go.Figure:
    runs = race("quadratic", ("sgd", "momentum", "adam"), 40, (-1.5, 1.0), 1.0, 10.0)
    return race_figure(get_function("quadratic", 10.0), runs, "en")


def test_a_frozen_figure_sends_exactly_what_the_figure_would(race_chart):
    before = streamlit_spec(race_chart)
    frozen = freeze(race_chart)
    assert isinstance(frozen, FrozenFigure) and frozen is race_chart
    assert streamlit_spec(frozen) == before
    assert streamlit_spec(frozen) == before  # and again: nothing was consumed
    assert frozen.layout.height == race_chart.layout.height and len(frozen.data) == len(race_chart.data)  # still a figure to read


def test_changing_a_frozen_figures_json_changes_a_copy(race_chart):
    frozen = freeze(race_chart)
    before = streamlit_spec(frozen)
    projector = enlarged(frozen, 1.4, 18)  # presenter mode scales every font of its own dict
    assert projector["layout"]["font"]["size"] >= 18
    assert streamlit_spec(frozen) == before  # the figure other students see is unchanged


def test_freeze_leaves_everything_else_alone():
    spec = {"data": [], "layout": {}}
    assert freeze(spec) is spec
    frozen = freeze(go.Figure())
    assert freeze(frozen) is frozen


def test_a_kept_figure_is_built_once_per_key_and_goes_with_its_owner():
    class Report:  # a run's result: the owner
        pass

    report, builds = Report(), []

    def build(lang: str) -> go.Figure:
        builds.append(lang)
        return go.Figure(go.Bar(y=[1, 2]))

    first = kept_with(report, ("per_class", "en"), lambda: build("en"))
    assert kept_with(report, ("per_class", "en"), lambda: build("en")) is first
    assert isinstance(first, FrozenFigure)
    kept_with(report, ("per_class", "zh"), lambda: build("zh"))
    assert builds == ["en", "zh"]
    other = Report()
    kept_with(other, ("per_class", "en"), lambda: build("en"))
    assert builds == ["en", "zh", "en"]  # another run, its own figure

    from explainer.ui import figure_cache

    del report
    gc.collect()
    assert [owner for owner in list(figure_cache._OWNED) if isinstance(owner, Report)] == [other]  # only `other` is left


def test_the_lean_template_keeps_plotly_whites_look_and_is_a_fraction_of_its_size():
    white, ours = pio.templates["plotly_white"].layout, pio.templates["explainer"].layout
    assert pio.templates.default == "explainer"
    for prop in ("paper_bgcolor", "plot_bgcolor", "font", "colorway", "hovermode", "xaxis", "yaxis", "scene", "title"):
        assert ours[prop] == white[prop], prop
    assert pio.templates["explainer"].data.bar == pio.templates["plotly_white"].data.bar
    figure = image_figure(np.arange(784, dtype=float).reshape(28, 28), "a digit")
    assert figure.layout.template.layout.plot_bgcolor == "white"
    assert len(pio.templates["explainer"].to_plotly_json().__repr__()) < len(pio.templates["plotly_white"].to_plotly_json().__repr__()) / 3


def test_image_figure_is_one_square_heatmap_with_its_scale():
    z = np.linspace(-2, 1, 28 * 28).reshape(28, 28)
    signed = image_figure(z, "", height=240, signed=True)
    (trace,) = signed.data
    assert (trace.zmin, trace.zmax) == (-2.0, 2.0) and signed.layout.height == 240
    assert signed.layout.yaxis.scaleanchor == "x" and signed.layout.yaxis.autorange == "reversed"
    assert signed.layout.title.text is None and signed.layout.margin.t == 5
    plain = image_figure(np.zeros((5, 5)), "map 3")
    assert (plain.data[0].zmin, plain.data[0].zmax) == (0.0, 1.0)  # a flat image still gets a scale
    assert plain.layout.title.text == "map 3" and plain.layout.margin.t == 40
