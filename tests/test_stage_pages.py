"""The five "Stages" pages through AppTest: every control changes what is shown, bad input shows an
error element (never an exception), and each page hands its output to the next."""


import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import address, chart, ok, open_page


def markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def latex(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.latex)


def errors(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.error)


# --- convolution ------------------------------------------------------------------------------


def shown_window(figure: dict) -> tuple[int, str]:
    """What a sliding-window figure shows: how many output cells are filled in, and the sentence under it."""
    output = figure["data"][-1]["z"]
    filled = sum(v is not None for row in output for v in row)
    return filled, figure["layout"]["annotations"][-1]["text"]


def test_convolution_steps_through_the_course_example():
    at = open_page("pages/convolution.py")
    assert "Step 1 of 9" in markdown(at) and "= **24**" in markdown(at)
    assert "conv2d" in at.success[0].value
    assert "= 3" in latex(at)
    assert at.button(key="conv_step_prev").disabled
    ok(at.button(key="conv_step_next").click().run())
    assert at.slider(key="conv_step").value == 2 and "= **18**" in markdown(at)
    assert address(at)["conv_step"] == "2"  # a click moves the counter in the address too
    ok(at.slider(key="conv_step").set_value(9).run())
    assert "Step 9 of 9" in markdown(at) and "= **8**" in markdown(at) and at.button(key="conv_step_next").disabled
    # one figure per step: the one the slider says, no client-side frames or slider of its own
    figure = chart(at, "conv_figure")
    assert "frames" not in figure and "sliders" not in figure["layout"]
    assert shown_window(figure) == (9, "output[3, 3] = 0 + 1 + 0 + 4 + 2 + 0 + 0 + 1 + 0 = <b>8</b>")
    ok(at.button(key="conv_step_prev").click().run())
    assert at.slider(key="conv_step").value == 8 and address(at)["conv_step"] == "8"
    assert shown_window(chart(at, "conv_figure"))[0] == 8 and "Step 8 of 9" in markdown(at)


def test_play_advances_the_same_counter_and_stops_at_the_end():
    at = open_page("pages/convolution.py")
    ok(at.slider(key="conv_step").set_value(7).run())
    ok(at.button(key="conv_step_play").click().run())
    assert at.session_state["conv_step_playing"] and at.button(key="conv_step_play").label == "Pause"
    step = at.slider(key="conv_step").value
    assert step in (7, 8)  # the click's own run may count as the first tick
    while step < 9:  # every run of the playing figure is a tick of its timer: one step further
        ok(at.run())
        step += 1
        assert at.slider(key="conv_step").value == step and address(at)["conv_step"] == str(step)
        assert f"Step {step} of 9" in markdown(at) and shown_window(chart(at, "conv_figure"))[0] == step
    ok(at.run())  # at the last step the timer stops by itself
    assert not at.session_state["conv_step_playing"] and at.button(key="conv_step_play").label == "Play"
    assert at.slider(key="conv_step").value == 9
    ok(at.run())
    assert at.slider(key="conv_step").value == 9


def test_any_click_on_the_stepper_pauses():
    at = open_page("pages/convolution.py")
    ok(at.button(key="conv_step_play").click().run())
    ok(at.run())
    step = at.slider(key="conv_step").value
    ok(at.button(key="conv_step_prev").click().run())
    assert not at.session_state["conv_step_playing"] and at.slider(key="conv_step").value == step - 1
    ok(at.run())
    assert at.slider(key="conv_step").value == step - 1  # paused: no more ticks
    ok(at.button(key="conv_step_play").click().run())
    ok(at.button(key="conv_step_play").click().run())  # Pause
    paused = at.slider(key="conv_step").value
    ok(at.run())
    assert not at.session_state["conv_step_playing"] and at.slider(key="conv_step").value == paused


def test_play_at_the_last_step_starts_over_from_the_first():
    at = open_page("pages/convolution.py")
    ok(at.slider(key="conv_step").set_value(9).run())
    ok(at.button(key="conv_step_play").click().run())
    assert at.session_state["conv_step_playing"]
    assert at.slider(key="conv_step").value == 1 and "Step 1 of 9" in markdown(at)  # step 1 is shown, not skipped
    ok(at.run())
    assert at.slider(key="conv_step").value == 2


@pytest.mark.parametrize(
    "setting,value,steps,size",
    [("conv_stride", 2, 4, "= 2"), ("conv_padding", 1, 25, "= 5"), ("conv_dilation", 2, 1, "= 1")],
)
def test_convolution_settings_change_the_output(setting, value, steps, size):
    at = open_page("pages/convolution.py")
    ok(at.number_input(key=setting).set_value(value).run())
    assert f"of {steps}**" in markdown(at) and size in latex(at)
    assert "conv2d" in at.success[0].value
    code = at.code[0].value
    assert f"{setting.split('_')[1]}={value}" in code


def test_convolution_bias_is_added_and_shown():
    at = open_page("pages/convolution.py")
    ok(at.number_input(key="conv_bias").set_value(-20.0).run())
    assert "+ -20 = **4**" in markdown(at)
    assert "conv.bias.data" in at.code[0].value


@pytest.mark.parametrize(
    "setting,value,needle",
    [("conv_stride", 0, "stride must be from 1"), ("conv_dilation", 0, "dilation"), ("conv_padding", 0, None)],
)
def test_convolution_invalid_settings_show_an_error(setting, value, needle):
    at = open_page("pages/convolution.py")
    ok(at.number_input(key=setting).set_value(value).run())
    if needle:
        assert needle in errors(at) and not at.get("plotly_chart")
    else:
        assert not at.error


def test_a_kernel_larger_than_the_padded_input():
    at = open_page("pages/convolution.py")
    ok(at.slider(key="conv_input_size").set_value(3).run())
    ok(at.slider(key="conv_kernel_size").set_value(5).run())
    assert "does not fit" in errors(at)
    ok(at.number_input(key="conv_padding").set_value(1).run())
    assert not at.error and "Step 1 of 1" in markdown(at)


def test_presets_sizes_and_random():
    at = open_page("pages/convolution.py")
    ok(at.selectbox(key="conv_kernel_preset").set_value("vertical_edge").run())
    assert "[-1, 0, 1]" in at.code[0].value
    ok(at.selectbox(key="conv_input_preset").set_value("random").run())
    before = at.code[0].value
    ok(at.number_input(key="conv_input_seed").set_value(1).run())  # another random grid
    assert at.code[0].value != before
    ok(at.number_input(key="conv_input_seed").set_value(0).run())
    assert at.code[0].value == before  # seeded: the same seed, the same grid
    ok(at.slider(key="conv_input_size").set_value(8).run())
    assert "of 36**" in markdown(at)
    ok(at.selectbox(key="conv_input_preset").set_value("course").run())
    assert at.slider(key="conv_input_size").value == 5 and "of 9**" in markdown(at)


def test_typing_a_grid_and_a_bad_one():
    at = open_page("pages/convolution.py")
    text = next(t for t in at.text_area if t.key.startswith("conv_input__text"))
    apply = next(b for b in at.button if b.key and b.key.startswith("conv_input__apply"))
    text.set_value("1 2\n3 x")
    ok(apply.click().run())
    assert "row 2, column 2 of the input is 'x'" in errors(at)
    text = next(t for t in at.text_area if t.key.startswith("conv_input__text"))
    apply = next(b for b in at.button if b.key and b.key.startswith("conv_input__apply"))
    text.set_value("1 2 3\n4 5 6\n7 8 9")
    ok(apply.click().run())
    assert not at.error and "Step 1 of 1" in markdown(at)
    assert "= **52**" in markdown(at)  # 0·1 + 1·2 + 2·3 + 2·4 + 2·5 + 0·6 + 0·7 + 1·8 + 2·9 = 52
    assert address(at)["conv_input"] == "1 2 3;4 5 6;7 8 9"  # the typed grid is in the address, rows split by ;

def test_reset_brings_back_the_course_example():
    at = open_page("pages/convolution.py")
    ok(at.number_input(key="conv_stride").set_value(2).run())
    ok(at.button(key="conv_reset").click().run())
    assert at.number_input(key="conv_stride").value == 1 and "of 9**" in markdown(at)


def test_reset_also_forgets_the_settings_in_the_address():
    """Bound widgets are seeded from the address: Reset must take its settings out of the address too."""
    at = open_page("pages/convolution.py", params={"conv_stride": 2, "conv_kernel_preset": "vertical_edge"})
    ok(at.button(key="conv_step_next").click().run())
    assert address(at)["conv_stride"] == "2" and address(at)["conv_step"] == "2"
    ok(at.button(key="conv_reset").click().run())
    assert at.number_input(key="conv_stride").value == 1 and at.slider(key="conv_step").value == 1
    assert at.selectbox(key="conv_kernel_preset").value == "course" and "Step 1 of 9" in markdown(at)
    assert not [k for k in address(at) if k.startswith("conv_")]


# --- the chain ------------------------------------------------------------------------------------


def test_the_stages_chain_from_input_to_probabilities():
    at = open_page("pages/convolution.py")
    ok(at.number_input(key="conv_bias").set_value(-20.0).run())  # conv output 24-20=4, 18-20=-2, 8-20=-12 ...
    at.switch_page("pages/activation.py").run()
    ok(at)
    assert "as you left them" in " ".join(c.value for c in at.caption)
    ok(at.slider(key="relu_shift").set_value(0).run())  # the chain itself, without the page's default shift
    assert "switched off **6** of the 9" in markdown(at)
    at.switch_page("pages/pooling.py").run()
    ok(at)
    assert "max(−∞, −∞, −∞, 4) = **4**" in markdown(at)
    at.switch_page("pages/fully_connected.py").run()
    ok(at)
    at.switch_page("pages/softmax.py").run()
    ok(at)
    from explainer.stages import ConvSettings, walkthrough

    expected = walkthrough(conv=ConvSettings(bias=-20)).fc.output.tolist()
    shown = [float(v) for v in at.text_input(key="softmax_logits").value.split()]
    assert shown == pytest.approx(expected)


# --- ReLU and activations ---------------------------------------------------------------------------


def test_relu_page_controls():
    at = open_page("pages/activation.py")
    # the course's convolution output shifted by the default −10: some numbers negative, some not
    assert at.slider(key="relu_shift").value == -10 and "switched off **3** of the 9" in markdown(at)
    ok(at.slider(key="relu_shift").set_value(0).run())
    assert at.info and "changes nothing" in at.info[0].value  # no negative number: ReLU changes nothing, and says so
    ok(at.slider(key="relu_shift").set_value(-20).run())
    assert "switched off **6** of the 9" in markdown(at)
    ok(at.selectbox(key="relu_activation").set_value("sigmoid").run())
    assert "bends every number" in markdown(at) and "nn.Sigmoid()" in at.code[0].value
    ok(at.radio(key="relu_source").set_value("own").run())
    ok(at.selectbox(key="relu_activation").set_value("relu").run())
    ok(at.slider(key="relu_shift").set_value(0).run())
    assert "switched off **4** of the 9" in markdown(at)
    ok(at.multiselect(key="relu_curves").set_value([]).run())
    assert not any("relu_curves_figure" in c.proto.id for c in at.get("plotly_chart"))
    before = [m.value for m in at.metric]
    ok(at.slider(key="relu_depth").set_value(20).run())
    after = [m.value for m in at.metric]
    assert before != after and float(after[0]) < float(before[0])  # deeper: sigmoid vanishes more


# --- pooling ---------------------------------------------------------------------------------------


def test_pooling_page_controls_and_errors():
    at = open_page("pages/pooling.py")
    assert "max_pool2d" in at.success[0].value and "of 4**" in markdown(at)
    assert shown_window(chart(at, "pool_figure")) == (1, "output[1, 1] = max(−∞, −∞, −∞, 24) = <b>24</b>")
    ok(at.button(key="pool_step_next").click().run())
    assert at.slider(key="pool_step").value == 2 and address(at)["pool_step"] == "2"
    assert "Step 2 of 4** — output cell (1, 2) = max(−∞, −∞, 18, 8) = **18**" in markdown(at)
    figure = chart(at, "pool_figure")
    assert "frames" not in figure and shown_window(figure) == (2, "output[1, 2] = max(−∞, −∞, 18, 8) = <b>18</b>")
    ok(at.button(key="pool_step_prev").click().run())
    assert at.slider(key="pool_step").value == 1 and shown_window(chart(at, "pool_figure"))[0] == 1
    assert "−∞" in at.info[0].value
    ok(at.radio(key="pool_kind").set_value("avg").run())
    assert "avg_pool2d" in at.success[0].value and "/ 4 = **6**" in markdown(at)
    ok(at.number_input(key="pool_padding").set_value(2).run())
    assert "at most half" in errors(at)
    ok(at.number_input(key="pool_padding").set_value(0).run())
    ok(at.number_input(key="pool_kernel").set_value(4).run())
    assert "larger than the padded input" in errors(at)
    ok(at.number_input(key="pool_kernel").set_value(3).run())
    ok(at.number_input(key="pool_stride").set_value(1).run())
    assert "of 1**" in markdown(at) and "= 1" in latex(at)
    ok(at.radio(key="pool_source").set_value("own").run())
    assert "of 4**" in markdown(at)


# --- flatten and fully connected ------------------------------------------------------------------------


def test_fully_connected_page_controls():
    at = open_page("pages/fully_connected.py")
    assert "y1 = (0.1)·24" in markdown(at) and "**-7.8**" in markdown(at)
    ok(at.radio(key="fc_neuron").set_value(1).run())
    assert "y2 =" in markdown(at) and "**1.8**" in markdown(at)
    ok(at.number_input(key="fc_outputs").set_value(5).run())
    assert len(at.radio(key="fc_neuron").options) == 5
    before = markdown(at)
    ok(at.number_input(key="fc_seed").set_value(7).run())
    assert markdown(at) != before
    ok(at.radio(key="fc_source").set_value("channels").run())
    assert "vector of 8 numbers" in markdown(at)
    assert r"\begin{bmatrix}4 & 6 \\ 12 & 14 \\ 20 & 22\end{bmatrix}" in latex(at)


def test_fully_connected_bad_weights():
    at = open_page("pages/fully_connected.py")
    text = next(t for t in at.text_area if t.key.startswith("fc_weight"))
    apply = next(b for b in at.button if b.key and b.key.startswith("fc_weight") and "__apply" in b.key)
    text.set_value("1 2 3")
    ok(apply.click().run())
    assert "W has 3 columns but the input has 4 numbers" in errors(at)


# --- softmax and loss -------------------------------------------------------------------------------


def test_softmax_page_controls():
    at = open_page("pages/softmax.py")
    assert at.text_input(key="softmax_logits").value == "-7.8 1.8 -2.2"
    assert "CrossEntropyLoss" in at.success[0].value
    ok(at.selectbox(key="softmax_preset").set_value("huge").run())
    assert at.warning and "overflows" in at.warning[0].value
    assert r"-\log 1 = 0" in latex(at)
    ok(at.selectbox(key="softmax_preset").set_value("small").run())
    assert not at.warning
    ok(at.selectbox(key="softmax_target").set_value(2).run())
    assert "p_{2}" in latex(at) and "0.0092" in latex(at)
    before = latex(at)
    ok(at.select_slider(key="softmax_temperature").set_value(10.0).run())
    assert latex(at) != before
    ok(at.slider(key="softmax_margin").set_value(0.0).run())
    assert "L &= 0" in latex(at)
    assert len(at.table[0].value) == 8


def test_a_preset_replaces_logits_that_came_with_a_link():
    at = open_page("pages/softmax.py", params={"softmax_logits": "1 2 3"})
    assert at.text_input(key="softmax_logits").value == "1 2 3"
    ok(at.selectbox(key="softmax_preset").set_value("huge").run())
    assert at.text_input(key="softmax_logits").value == "1000 0 -1000" and address(at).get("softmax_logits") != "1 2 3"


@pytest.mark.parametrize("text,needle", [("1, x, 3", "not a number"), ("", "empty"), ("nan 1", "NaN"), ("1e400 0", "too large")])
def test_softmax_bad_logits(text, needle):
    at = open_page("pages/softmax.py")
    ok(at.text_input(key="softmax_logits").set_value(text).run())
    assert needle in errors(at)
