"""The training page through AppTest: a short run completes, bad rates fail cleanly, uploads are
validated, and two students training at once keep their own runs."""

import time

from streamlit.testing.v1 import AppTest

from explainer.paths import SHIPPED_CHECKPOINT
from explainer.train import DEFAULT_LR
from tests.apptest import ok, open_page
from tests.live_server import ROOT


def open_train() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def start_small(at: AppTest, digits: int = 250, **settings) -> AppTest:
    ok(at.select_slider(key="train_limit").set_value(digits).run())
    ok(at.number_input(key="train_epochs").set_value(1).run())
    for key, value in settings.items():
        widget = {"optimizer": at.selectbox, "lr": at.select_slider, "schedule": at.radio, "kind": at.selectbox, "seed": at.number_input}[key]
        ok(widget(key=f"train_{key}").set_value(value).run())
    return ok(at.button(key="train_start").click().run())


def wait_finished(at: AppTest, timeout: float = 60) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        ok(at.run())
        if not at.button(key="train_stop").disabled:
            continue
        return at
    raise AssertionError("training did not finish")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def chart_keys(at: AppTest) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


def test_a_one_epoch_run_completes_and_can_be_used_everywhere():
    at = start_small(open_train())
    if at.session_state["training_runs"][-1].job.active:  # (it may already have finished: 250 digits train fast)
        assert at.button(key="train_start").disabled  # one run at a time per student
    wait_finished(at)
    assert any("train_live" in k for k in chart_keys(at)) and any("train_confusion" in k for k in chart_keys(at))
    assert "Test images" in metrics(at) and metrics(at)["Test images"] == "1,000"
    assert at.get("download_button"), "the trained model can be downloaded"
    ok(at.button(key="train_use_1").click().run())
    assert at.selectbox(key="model").value == "session" and at.session_state["session_model_run"] == 1
    assert at.button(key="train_use_1").disabled  # already the one in use
    assert "Trained or uploaded at your desk" in " ".join(str(c.value) for c in at.sidebar.caption)
    at.switch_page("pages/model.py").run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Dataset"] == "MNIST-5k"
    ok(at.segmented_control(key="model_tab").set_value("training").run())
    assert "1 epoch" in " ".join(c.value for c in at.caption)  # the session's own training record
    assert any("model_training_curves" in k for k in chart_keys(at))
    at.switch_page("pages/forward.py").run()
    ok(at)
    ok(at.selectbox(key="model").set_value("simplecnn").run())
    assert at.selectbox(key="model").value == "simplecnn"


def test_another_optimizer_starts_from_its_own_rate():
    """The rate a link (or an earlier choice) put in the address gives way to the new optimizer's default."""
    at = open_page("pages/train.py", params={"train_optimizer": "sgd", "train_lr": 0.05})
    assert at.selectbox(key="train_optimizer").value == "sgd" and at.select_slider(key="train_lr").value == 0.05
    ok(at.selectbox(key="train_optimizer").set_value("adam").run())
    assert at.select_slider(key="train_lr").value == DEFAULT_LR["adam"]


def test_an_exploding_learning_rate_stops_with_an_explanation_and_keeps_the_model():
    at = start_small(open_train(), optimizer="sgd", lr=100.0, schedule="constant")
    wait_finished(at)
    assert at.error and "learning rate 100 is too large" in at.error[0].value
    assert "unchanged" in " ".join(c.value for c in at.caption)
    assert at.selectbox(key="model").value == "simplecnn"
    assert not any(b.key and b.key.startswith("train_use_") for b in at.button)


def test_uploads_are_validated():
    at = open_train()
    ok(at.file_uploader(key="train_upload").upload("evil.pt", b"\x80\x04\x95 not a real pickle", "application/octet-stream").run())
    assert at.error and "evil.pt" in at.error[0].value
    assert not any(b.key and b.key.startswith("train_use_") for b in at.button)
    at = open_train()
    ok(at.file_uploader(key="train_upload").upload("shipped.safetensors", SHIPPED_CHECKPOINT.read_bytes()).run())
    assert not at.error
    assert metrics(at)["Test accuracy"] == "98.4%"
    ok(at.button(key="train_use_1").click().run())
    assert at.selectbox(key="model").value == "session"


def test_two_students_training_at_once_keep_their_own_runs():
    alice, bob = open_train(), open_train()
    start_small(alice, kind="softmax", seed=1)
    start_small(bob, kind="mlp", seed=2)
    wait_finished(alice), wait_finished(bob)
    assert "Softmax regression" in alice.subheader[2].value and "MLP" in bob.subheader[2].value
    assert [r.label for r in alice.session_state["training_runs"]] != [r.label for r in bob.session_state["training_runs"]]
    assert len(alice.session_state["training_runs"]) == len(bob.session_state["training_runs"]) == 1
    a_model = alice.session_state["training_runs"][0].checkpoint.model
    b_model = bob.session_state["training_runs"][0].checkpoint.model
    assert a_model.config.kind == "softmax" and b_model.config.kind == "mlp"


def test_runs_of_a_session_are_compared_on_one_chart():
    at = start_small(open_train(), kind="softmax")
    wait_finished(at)
    start_small(at, kind="mlp")
    wait_finished(at)
    assert any("train_runs" in k for k in chart_keys(at))
    ok(at.selectbox(key="train_pick").set_value(1).run())
    ok(at.button(key="train_use_picked").click().run())
    assert at.selectbox(key="model").value == "session"


def wait_paused(at: AppTest, timeout: float = 30) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = at.session_state["training_runs"][-1]
        if run.job.state == "paused":
            return ok(at.run())
        time.sleep(0.1)
    raise AssertionError("the run did not pause")


def test_step_by_step_shows_a_batch_its_losses_and_one_weight_then_resumes_and_replays():
    at = open_train()
    ok(at.segmented_control(key="train_pace").set_value("step").run())
    ok(at.selectbox(key="train_optimizer").set_value("sgd").run())
    ok(at.radio(key="train_schedule").set_value("constant").run())
    at = start_small(at, digits=500)
    wait_paused(at)
    assert "Press **Step**" in " ".join(i.value for i in at.info)
    ok(at.button(key="train_step").click().run())
    wait_paused(at)
    text = " ".join(m.value for m in at.markdown)
    assert "Batch 1 of 16, epoch 1" in text and "conv1.weight[0, 0, 1, 1]" in text
    assert "Loss on this batch after the step" in metrics(at)
    latex = " ".join(x.value for x in at.latex)
    assert r"w \leftarrow w - \eta\,\nabla w" in latex  # plain SGD: the course's update with this step's numbers
    assert at.get("image"), "the batch's digits are shown"
    ok(at.selectbox(key="train_weight_layer").set_value("fc2.bias").run())
    ok(at.button(key="train_step").click().run())
    wait_paused(at)
    assert "fc2.bias[0]" in " ".join(m.value for m in at.markdown) and "Batch 2 of 16" in " ".join(m.value for m in at.markdown)
    job = at.session_state["training_runs"][-1].job
    assert len(job.replay) == 3  # before training, after batch 1, after batch 2
    ok(at.button(key="train_resume").click().run())
    wait_finished(at)
    assert job.replay.snapshots()[-1].step == 16
    assert at.button(key="train_use_1"), "the finished model can be used"


def test_an_impossible_architecture_is_refused_and_the_course_presets_set_everything():
    at = open_train()
    ok(at.segmented_control(key="train_blocks").set_value(3).run())
    ok(at.selectbox(key="train_kernel").set_value(7).run())
    ok(at.selectbox(key="train_padding").set_value("valid").run())
    assert at.error and "conv3 is larger than its padded input" in at.error[0].value and "pool2 2" in at.error[0].value
    assert at.button(key="train_start").disabled
    ok(at.button(key="train_preset_mlp").click().run())
    assert at.selectbox(key="train_kind").value == "mlp" and at.number_input(key="train_mlp_hidden").value == 256
    assert at.selectbox(key="train_optimizer").value == "sgd" and at.select_slider(key="train_lr").value == 0.1
    assert at.select_slider(key="train_batch").value == 256 and at.number_input(key="train_epochs").value == 10
    assert at.radio(key="train_schedule").value == "constant" and not at.error
    ok(at.button(key="train_preset_cnn").click().run())
    flow = " ".join(m.value for m in at.markdown if "parameters" in m.value)
    assert "`pool1 8×14×14` → `flatten 1568` → `fc 10`" in flow and "15,770" in flow
    ok(at.selectbox(key="train_activation").set_value("sigmoid").run())
    assert "sigmoid1" in " ".join(m.value for m in at.markdown if "parameters" in m.value)
    ok(at.text_input(key="train_watch").set_value("3 x 9").run())
    assert at.error and "'x' is not a test digit number" in at.error[0].value


def test_a_model_of_another_architecture_works_on_every_page():
    at = open_train()
    ok(at.segmented_control(key="train_blocks").set_value(3).run())
    ok(at.selectbox(key="train_activation").set_value("tanh").run())
    ok(at.select_slider(key="train_dropout").set_value(0.3).run())
    ok(at.number_input(key="train_hidden").set_value(0).run())
    start_small(at)
    wait_finished(at)
    assert "Dropout 0.3 is on while training" in " ".join(c.value for c in at.caption)
    ok(at.button(key="train_use_1").click().run())
    for page in ("model", "forward", "overview", "saliency", "landscape"):
        at.switch_page(f"pages/{page}.py").run()
        ok(at)
        assert at.selectbox(key="model").value == "session", page
    at.switch_page("pages/forward.py").run()
    stages = set(at.select_slider(key="fwd_step").options)
    assert {"conv3", "tanh3", "pool3", "fc"} <= stages and "fc2" not in stages  # the page walks this model's own stages


def test_a_run_that_ends_on_another_page_is_kept_at_the_desk_and_the_sidebar_points_to_it():
    from explainer.ui.desk import run_store  # the app's own store (made once per process)

    at = open_train()
    ok(at.segmented_control(key="train_pace").set_value("watch").run())  # slow enough to leave the page while it trains
    ok(at.select_slider(key="train_delay").set_value(0.1).run())
    at = start_small(at, kind="softmax")
    assert at.session_state["training_runs"][-1].job.active
    at.switch_page("pages/model.py").run()
    job = at.session_state["training_runs"][-1].job
    deadline = time.monotonic() + 60
    while job.active and time.monotonic() < deadline:
        time.sleep(0.2)
    ok(at.run())
    assert any("Training #1 finished" in link.proto.label for link in at.sidebar.get("page_link"))
    desk = at.session_state["desk_state"]
    assert [r.kind for r in run_store().runs(desk.id)] == ["softmax"]  # saved without coming back to the Train page
    at.switch_page("pages/train.py").run()
    ok(at)
    at.switch_page("pages/model.py").run()
    assert not any("Training #1" in link.proto.label for link in at.sidebar.get("page_link"))  # seen: no more pointer
