"""The gradient-descent and loss-landscape pages through AppTest: stepping one counter per figure, the
race's animation, the sliders moving the model, and invalid settings shown as errors, not exceptions."""


from streamlit.testing.v1 import AppTest

from tests.apptest import address, chart, ok, open_page


def plays(spec: dict) -> bool:
    """The figure has a Play button that animates its frames in the browser."""
    buttons = [b for menu in spec["layout"].get("updatemenus", []) for b in menu["buttons"]]
    return any(b["method"] == "animate" and b["args"][0] is None for b in buttons) and len(spec.get("frames", [])) > 1


def one_figure_per_step(spec: dict) -> bool:
    """A figure the page's own step counter draws: no frames, no Play button, no slider of its own."""
    return "frames" not in spec and not spec["layout"].get("updatemenus") and not spec["layout"].get("sliders")


def title(spec: dict) -> str:
    return spec["layout"]["title"]["text"]


def latex(at: AppTest) -> str:
    return " ".join(str(e.value) for e in at.get("latex"))


def test_one_weight_steps_with_the_numbers_of_each_update():
    at = open_page("pages/descent.py")
    assert at.title[0].value.startswith("Gradient descent")
    figure = chart(at, "gd_one_figure")
    assert one_figure_per_step(figure)
    step = at.slider(key="gd_one_step")
    assert (step.value, step.min, step.max) == (1, 1, 31)  # the start and its 30 steps
    assert title(figure) == "Step 1:  w ← −2.5 − 0.3 × (−4.5) = −1.15"
    assert "the slope is negative, so w increases" in " ".join(m.value for m in at.markdown)
    assert any("converged after 13 steps" in s.value for s in at.success)
    ok(at.button(key="gd_one_step_next").click().run())
    assert at.slider(key="gd_one_step").value == 2 and address(at)["gd_one_step"] == "2"
    assert title(chart(at, "gd_one_figure")) == "Step 2:  w ← −1.15 − 0.3 × (−3.15) = −0.205"
    assert r"\leftarrow -1.15 - 0.3 \times (-3.15) = -0.205" in latex(at).replace("−", "-")
    ok(at.slider(key="gd_one_step").set_value(31).run())  # the figure, the sentence and the slider: one counter
    assert title(chart(at, "gd_one_figure")).startswith("After 30 steps: w = ")
    assert at.button(key="gd_one_step_next").disabled and "the slope is" not in " ".join(m.value for m in at.markdown)
    ok(at.button(key="gd_one_step_prev").click().run())
    assert title(chart(at, "gd_one_figure")).startswith("Step 30:  w ← ")


def test_play_moves_the_weight_one_step_per_tick():
    at = open_page("pages/descent.py")
    ok(at.button(key="gd_one_step_play").click().run())
    assert at.session_state["gd_one_step_playing"]
    start = at.slider(key="gd_one_step").value
    for _ in range(3):
        ok(at.run())  # a tick of the figure's timer
        start += 1
        assert at.slider(key="gd_one_step").value == start
        assert title(chart(at, "gd_one_figure")).startswith(f"Step {start}:")
    ok(at.button(key="gd_one_step_play").click().run())  # Pause
    ok(at.run())
    assert at.slider(key="gd_one_step").value == start and not at.session_state["gd_one_step_playing"]


def test_the_learning_rate_regimes():
    at = open_page("pages/descent.py")
    ok(at.slider(key="gd_one_step").set_value(5).run())
    ok(at.button(key="gd_one_regime_divergent").click().run())
    assert at.select_slider(key="gd_one_lr").value == 2.5 and address(at)["gd_one_lr"] == "2.5"
    assert at.slider(key="gd_one_step").value == 1  # a regime starts its run from the beginning
    assert at.error and "diverged at step 15" in at.error[0].value
    last = at.slider(key="gd_one_step").max
    assert last == 16
    ok(at.slider(key="gd_one_step").set_value(last).run())
    assert "exploded" in title(chart(at, "gd_one_figure"))
    ok(at.button(key="gd_one_regime_large").click().run())
    assert at.warning and "oscillates" in at.warning[0].value
    ok(at.button(key="gd_one_regime_small").click().run())
    assert any("crawling" in i.value for i in at.info)
    sweep = chart(at, "gd_one_sweep")
    assert {trace["name"] for trace in sweep["data"]} >= {"crawling", "converged", "oscillating", "diverged"}
    ok(at.selectbox(key="gd_one_function").set_value("two_minima").run())
    assert at.slider(key="gd_one_start").value == -0.6 and at.slider(key="gd_one_step").value == 1


def test_a_new_curve_starts_with_its_own_rate_and_step():
    """A new curve forgets the rate, start, steps and step of the last one, also when the address holds them."""
    at = open_page("pages/descent.py")
    ok(at.button(key="gd_one_regime_divergent").click().run())
    ok(at.button(key="gd_one_step_next").click().run())
    assert address(at)["gd_one_lr"] == "2.5" and address(at)["gd_one_step"] == "2"
    ok(at.selectbox(key="gd_one_function").set_value("two_minima").run())
    assert at.select_slider(key="gd_one_lr").value == 0.05  # the good rate of the new curve
    assert at.slider(key="gd_one_step").value == 1 and title(chart(at, "gd_one_figure")).startswith("Step 1:")
    assert at.slider(key="gd_one_start").value == -0.6
    assert "gd_one_lr" not in address(at) and "gd_one_step" not in address(at)


def test_the_optimizers_race_as_one_animation():
    at = open_page("pages/descent.py")
    race = chart(at, "gd_two_figure")
    assert plays(race)  # the race keeps its own animation, in the browser
    assert not any(ch.isdigit() for ch in title(race))  # its title does not repeat a step the frames move past
    assert all("title" not in frame.get("layout", {}) for frame in race["frames"])
    legend = [trace["name"] for trace in race["data"] if trace.get("type") == "scatter" and trace.get("showlegend", True)]
    assert sum("steps" in name for name in legend) == 6  # every optimizer with its steps to converge
    assert any(trace["type"] == "surface" for trace in race["data"])
    assert race["layout"]["images"][0]["source"].startswith("data:image/png;base64,")  # the contour map, under the paths
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 6
    ok(at.multiselect(key="gd_two_optimizers").set_value(["adam", "sgd"]).run())
    assert len(at.dataframe[0].value) == 2
    ok(at.select_slider(key="gd_two_scale").set_value(10.0).run())
    assert any("diverged" in e.value for e in at.error)  # SGD at ten times its rate explodes, and says so
    # invalid settings: an error on the page, never an exception
    ok(at.number_input(key="gd_two_x").set_value(50.0).run())
    assert at.error and "start x must be from -3 to 3" in at.error[0].value
    ok(at.multiselect(key="gd_two_optimizers").set_value([]).run())
    assert any("at least one optimizer" in e.value for e in at.error)


def test_the_landscape_sliders_move_the_model_on_the_surface():
    at = open_page("pages/landscape.py", params={"ld_grid": 11, "ld_batch": 64})  # a link: a small grid, a small batch
    assert at.select_slider(key="ld_grid").value == 11 and at.select_slider(key="ld_batch").value == 64
    assert not at.info  # every value of the link was used
    lines = chart(at, "ld_lines")
    assert len(lines["data"]) == 4
    surface = chart(at, "ld_surface")
    assert len(surface["data"][1]["z"]["shape"].split(",")) == 2 or len(surface["data"][1]["z"]) == 11
    metrics = {m.label: m.value for m in at.metric}
    start_loss = float(metrics["Loss"])
    ok(at.slider(key="ld_alpha").set_value(0.5).run())
    ok(at.slider(key="ld_beta").set_value(-0.25).run())
    moved = {m.label: m.value for m in at.metric}
    assert float(moved["Loss"]) > start_loss
    point = [t for t in chart(at, "ld_surface")["data"] if t.get("name") == "your point (α, β)"][0]
    assert point["x"] == [0.5] and point["y"] == [-0.25]
    ok(at.number_input(key="ld_digit").set_value(5).run())
    assert "True label" in " ".join(m.value for m in at.markdown)
    ok(at.number_input(key="ld_span").set_value(0.0).run())  # invalid: an error on the page, not an exception
    assert at.error and "span must be from 0.01 to 10" in at.error[0].value.lower()
    assert not at.get("plotly_chart")


def test_two_students_at_the_same_slider_position_share_one_evaluation():
    """The point (α, β) is computed once for the class; its numbers are those of the moved model itself."""
    from explainer.landscape import point
    from explainer.ui import landscape_view

    students = [open_page("pages/landscape.py", params={"ld_grid": 11, "ld_batch": 64}) for _ in range(2)]
    calls = []
    original = landscape_view.point
    landscape_view.point = lambda plane, a, b: calls.append((a, b)) or original(plane, a, b)
    try:
        for at in students:
            ok(at.slider(key="ld_alpha").set_value(0.35).run())
            ok(at.slider(key="ld_beta").set_value(-0.15).run())
    finally:
        landscape_view.point = original
    assert calls.count((0.35, -0.15)) == 1  # the second student's move found it made
    shown = [{m.label: m.value for m in at.metric} for at in students]
    assert shown[0] == shown[1]
    plane = students[0].session_state["ld_plane"][1]
    fresh = point(plane, 0.35, -0.15)
    assert shown[0]["Loss"] == f"{fresh.loss:.3f}" and shown[0]["Batch accuracy"] == f"{fresh.accuracy:.1%}"


def test_the_landscape_of_a_baseline_and_every_descent_function():
    at = open_page("pages/landscape.py", params={"ld_grid": 11, "ld_batch": 64})
    ok(at.selectbox(key="model").set_value("softmax").run())
    assert "7,850 weights" in " ".join(c.value for c in at.caption)
    assert chart(at, "ld_surface")["data"][1]["type"] == "surface"
    at.switch_page("pages/descent.py").run()
    for name in ("rosenbrock", "himmelblau", "saddle"):
        ok(at.selectbox(key="gd_two_function").set_value(name).run())
        assert plays(chart(at, "gd_two_figure"))
    for name in ("two_minima", "plateau"):
        ok(at.selectbox(key="gd_one_function").set_value(name).run())
        figure, step = chart(at, "gd_one_figure"), at.slider(key="gd_one_step").value
        assert one_figure_per_step(figure) and title(figure).startswith(f"Step {step}:")
        ok(at.button(key="gd_one_step_next").click().run())
        assert title(chart(at, "gd_one_figure")).startswith(f"Step {step + 1}:")
