"""Presenter mode's figures: every font and the height larger on the projector, the shared figure untouched."""

import plotly.graph_objects as go

from explainer.figures.common import enlarged, layout
from tests.apptest import chart, ok, open_page, visit


def test_enlarged_scales_every_font_and_the_height_of_a_copy():
    fig = layout(go.Figure(go.Bar(x=[1, 2], y=[3, 4], text=["a", "b"], textfont={"size": 10})), 400)
    fig.add_annotation(text="note", font={"size": 20})
    fig.update_xaxes(tickfont={"size": 11})
    big = enlarged(fig, 1.5)
    assert big["layout"]["height"] == 600 and big["layout"]["font"]["size"] == 22.5
    assert big["layout"]["annotations"][0]["font"]["size"] == 30 and big["layout"]["xaxis"]["tickfont"]["size"] == 16.5
    assert big["data"][0]["textfont"]["size"] == 15
    # the original (possibly cached, shown to other students) is as it was
    assert fig.layout.height == 400 and fig.layout.annotations[0].font.size == 20 and fig.data[0].textfont.size == 10


def test_a_figure_without_font_sizes_gets_a_base_size():
    assert enlarged(go.Figure(), 2)["layout"]["font"]["size"] == 24


def test_on_a_projector_no_font_is_smaller_than_the_minimum():
    fig = layout(go.Figure(go.Bar(x=[1], y=[2], textfont={"size": 9})), 300)
    fig.update_xaxes(tickfont={"size": 10})
    big = enlarged(fig, 1.4, minimum=18)
    assert big["data"][0]["textfont"]["size"] == 18 and big["layout"]["xaxis"]["tickfont"]["size"] == 18
    assert big["layout"]["font"]["size"] == 21  # 15 × 1.4, above the minimum


def test_the_descent_page_draws_its_figures_larger_only_while_presenting():
    at = open_page("pages/descent.py")
    normal = chart(at, "gd_one_figure")["layout"]
    relu = chart(visit(at, "pages/activation.py"), "relu_flow_figure")["layout"]
    visit(at, "pages/descent.py")
    ok(at.toggle(key="present").set_value(True).run())
    big = chart(at, "gd_one_figure")["layout"]
    assert big["font"]["size"] > normal["font"]["size"] and big["height"] > normal["height"]
    ok(at.button(key="gd_one_step_next").click().run())  # the step's figure is redrawn: still large
    assert chart(at, "gd_one_figure")["layout"]["font"]["size"] == big["font"]["size"]
    visit(at, "pages/activation.py")  # one switch for every page: the next page presents too
    assert at.toggle(key="present").value
    assert chart(at, "relu_flow_figure")["layout"]["font"]["size"] > relu["font"]["size"]
    ok(at.toggle(key="present").set_value(False).run())
    assert chart(at, "relu_flow_figure")["layout"]["font"]["size"] == relu["font"]["size"]
    visit(at, "pages/descent.py")
    assert not at.toggle(key="present").value
    assert chart(at, "gd_one_figure")["layout"]["font"]["size"] == normal["font"]["size"]


def test_a_link_opens_presenter_mode():
    linked = open_page("pages/convolution.py", params={"present": "true", "conv_step": 3})
    assert linked.toggle(key="present").value and linked.slider(key="conv_step").value == 3
    assert "Step 3 of 9" in " ".join(m.value for m in linked.markdown)
    normal = chart(open_page("pages/convolution.py"), "conv_figure")["layout"]
    assert chart(linked, "conv_figure")["layout"]["height"] > normal["height"]
