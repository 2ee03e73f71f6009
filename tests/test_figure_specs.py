"""Figures written as Plotly's dict send the browser the same figure that Plotly's checked construction makes."""

import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plotly.subplots import make_subplots

from explainer.figures.common import FONT, HIGHLIGHT, SIGNED_SCALE, layout
from explainer.figures.network import DIVERGING, GRAY, feature_maps_figure, kernels_figure
from explainer.figures.specs import spec_figure, subplot_domains
from explainer.i18n import t


def sent(fig: go.Figure) -> dict:
    """What goes to the browser, as Streamlit writes it."""
    return json.loads(pio.to_json(fig.to_dict(), validate=False))


def same(a: object, b: object, path: str = "") -> None:
    """Equal JSON, floats to 1e-12 (a domain summed in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: {sorted(a)} != {sorted(b) if isinstance(b, dict) else b}"
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=0, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def without_empty_cells(spec: dict, n: int) -> dict:
    """make_subplots also makes the axes of a last row's empty cells, left visible: empty frames beside the last map
    (8 maps 6 to a row, on a projector). The figures written as dicts have no such cells."""
    for axis in [k for k in spec["layout"] if k[:5] in ("xaxis", "yaxis") and k[5:] and int(k[5:]) > n]:
        del spec["layout"][axis]
    return spec


def _hide_axes(fig: go.Figure, n: int) -> None:
    for i in range(1, n + 1):
        s = "" if i == 1 else str(i)
        fig.update_layout({f"xaxis{s}": {"visible": False, "constrain": "domain"},
                           f"yaxis{s}": {"visible": False, "autorange": "reversed", "scaleanchor": f"x{s}", "constrain": "domain"}})


def checked_feature_maps(maps: torch.Tensor, lang: str, columns: int = 8, selected: int | None = None,
                         height_per_row: int = 150) -> go.Figure:
    """The feature maps built through make_subplots and Plotly's checks (how the app built them before)."""
    c = maps.shape[0]
    columns = min(columns, c)
    rows = math.ceil(c / columns)
    data = maps.numpy()
    signed = bool(data.min() < 0)
    bound = float(np.abs(data).max()) or 1.0
    zmin, zmax = (-bound, bound) if signed else (0.0, bound)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[t("fig.map", lang, n=i + 1) for i in range(c)],
                        horizontal_spacing=0.012, vertical_spacing=0.12 / rows)
    for i in range(c):
        fig.add_trace(go.Heatmap(z=data[i], zmin=zmin, zmax=zmax, colorscale=DIVERGING if signed else GRAY, showscale=False,
                                 hovertemplate=f"{t('fig.map', lang, n=i + 1)}<br>row %{{y}}, col %{{x}}: %{{z:.3f}}<extra></extra>"),
                      i // columns + 1, i % columns + 1)
    _hide_axes(fig, c)
    if selected is not None and 0 <= selected < c:
        s = "" if selected == 0 else str(selected + 1)
        h, w = data.shape[1:]
        fig.add_shape(type="rect", xref=f"x{s}", yref=f"y{s}", x0=-0.5, x1=w - 0.5, y0=-0.5, y1=h - 0.5,
                      line={"color": HIGHLIGHT, "width": 4})
    fig.update_annotations(font_size=12)
    layout(fig, 40 + rows * height_per_row)
    fig.update_layout(margin={"l": 5, "r": 5, "t": 30, "b": 5})
    return fig


def checked_kernels(weight: torch.Tensor, lang: str, in_channel: int = 0, columns: int = 4) -> go.Figure:
    kernels = weight[:, in_channel].numpy()
    c = kernels.shape[0]
    columns = min(columns, c)
    rows = math.ceil(c / columns)
    bound = float(np.abs(kernels).max()) or 1.0
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[t("fig.kernel_n", lang, n=i + 1) for i in range(c)],
                        horizontal_spacing=0.02, vertical_spacing=0.15 / rows)
    for i in range(c):
        fig.add_trace(go.Heatmap(z=kernels[i], zmin=-bound, zmax=bound, colorscale=SIGNED_SCALE, showscale=False,
                                 text=[[f"{v:.2f}" for v in row] for row in kernels[i]], texttemplate="%{text}",
                                 textfont={"size": 12}, xgap=1, ygap=1, hovertemplate="%{z:.4f}<extra></extra>"),
                      i // columns + 1, i % columns + 1)
    _hide_axes(fig, c)
    fig.update_annotations(font_size=13)
    layout(fig, 40 + rows * 120)
    fig.update_layout(margin={"l": 5, "r": 5, "t": 30, "b": 5})
    return fig


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 9), h=st.floats(0.0, 0.05), v=st.floats(0.0, 0.1))
def test_the_grid_is_where_make_subplots_puts_it(rows, cols, h, v):
    v = min(v, 0.9 / max(1, rows - 1))
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=h, vertical_spacing=v)
    ours = subplot_domains(rows, cols, h, v)
    for i, ((x0, x1), (y0, y1)) in enumerate(ours):
        s = "" if i == 0 else str(i + 1)
        assert fig.layout[f"xaxis{s}"].domain == pytest.approx((x0, x1), abs=1e-12)
        assert fig.layout[f"yaxis{s}"].domain == pytest.approx((y0, y1), abs=1e-12)


@pytest.mark.parametrize("shape", [(8, 28, 28), (16, 14, 14), (16, 7, 7), (3, 5, 5), (1, 4, 4), (32, 7, 7)])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("selected", [None, 0, 2, 99])
def test_feature_maps_are_the_checked_figure(shape, signed, selected):
    maps = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    maps = maps if signed else maps.abs()
    for lang, columns in [("en", 8), ("zh", 6)]:
        ours = feature_maps_figure(maps, lang, columns=columns, selected=selected, height_per_row=175)
        same(sent(ours), without_empty_cells(sent(checked_feature_maps(maps, lang, columns, selected, 175)), shape[0]))
        assert ours.layout.height == 40 + math.ceil(shape[0] / min(columns, shape[0])) * 175  # a real figure: it reads back


@pytest.mark.parametrize("shape", [(8, 1, 3, 3), (16, 8, 5, 5), (6, 3, 3, 3)])
def test_kernels_are_the_checked_figure(shape):
    weight = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    for in_channel in range(min(2, shape[1])):
        same(sent(kernels_figure(weight, "en", in_channel=in_channel)),
             without_empty_cells(sent(checked_kernels(weight, "en", in_channel)), shape[0]))


def test_a_spec_figure_passes_plotlys_checks_unchanged():
    fig = feature_maps_figure(torch.randn(4, 6, 6), "en", selected=1)
    checked = go.Figure(fig.to_dict())  # checked now, property by property: nothing is invalid, nothing changes
    same(sent(checked), sent(fig))
    with pytest.raises(ValueError):
        go.Figure({"data": [{"type": "heatmap", "zmin": "low"}]})  # (the check that is skipped, for a wrong dict)
    assert spec_figure({"data": [], "layout": {"height": 100, "font": FONT}}).layout.height == 100
