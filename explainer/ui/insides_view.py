"""The network's insides while it trains, live and as a replay: an inline component fed by snapshots.

Live, the page's polling fragment sends only the newest snapshot (about 10 kB for SimpleCNN)
four times a second. Once the run is paused or over, the whole replay is sent once — at most
:data:`REPLAY_FRAMES` snapshots, feature maps averaged 2×2 — and the timeline slider and Play
run in the browser: scrubbing costs the server nothing. See ``assets/insides.js``.
"""

from __future__ import annotations

import base64
import json
import streamlit as st
import torch

from explainer.data import Dataset
from explainer.jobs import JobSnapshot, TrainingJob
from explainer.snapshots import Snapshot

from .components import inline_component
from .state import tr

_COMPONENT = inline_component("cnn_explainer_training_insides", "insides")
REPLAY_FRAMES = 100  # frames sent for the replay (of the ≤ 200 kept), evenly spread, the last included
_REPLAY_CACHE = "train_replay_json"  # session: (job id, snapshots kept, language) → the replay's JSON text


def _digit(dataset: Dataset, index: int) -> str:
    image = dataset.test_images[index].to(torch.uint8).contiguous()
    return base64.b64encode(image.numpy().tobytes()).decode("ascii")


def _texts() -> dict[str, str]:
    keys = ("weights_kernels", "weights_units", "weights_templates", "weights_note", "maps", "probs", "probs_note", "right",
            "wrong", "confusion", "confusion_note", "play", "pause", "scrub", "at", "live")
    return {k: tr(f"train.ti.{k}") for k in keys}


def _replay_json(job: TrainingJob, lang: str) -> str:
    """The replay as JSON text, built once per (run, number of snapshots, language) for this session."""
    key = (job.id, len(job.replay), job.replay.latest().step if job.replay.latest() else -1, lang)
    cached = st.session_state.get(_REPLAY_CACHE)
    if cached is not None and cached[0] == key:
        return cached[1]
    text = json.dumps(job.replay.to_dict(pooled=2, frames=REPLAY_FRAMES)["snapshots"], separators=(",", ":"))
    st.session_state[_REPLAY_CACHE] = (key, text)
    return text


def show_insides(job: TrainingJob, snap: JobSnapshot, live: bool, lang: str, presenting: bool, key: str) -> None:
    """The insides of ``job``'s model: the newest snapshot while it trains, the replay once it pauses or ends."""
    latest: Snapshot | None = job.replay.latest()
    if latest is None:
        return
    dataset, classes = job.dataset, list(job.dataset.info.classes)
    probe_digit = job.digit if 0 <= job.digit < len(dataset.test_labels) else 0
    watch = job.watch or _default_watch(dataset)
    frames = json.dumps([latest.to_dict()], separators=(",", ":")) if live else _replay_json(job, lang)
    data = {
        "frames": frames,
        "live": live,
        "key": f"{job.id}-{'live' if live else 'replay'}",
        "total_steps": snap.total_steps,
        "classes": classes,
        "digit": {"index": probe_digit, "label": classes[int(dataset.test_labels[probe_digit])], "img": _digit(dataset, probe_digit)},
        "watch": [{"index": i, "label": int(dataset.test_labels[i]), "img": _digit(dataset, i)} for i in watch],
        "texts": _texts(),
        "presenting": presenting,
    }
    _COMPONENT(key=key, data=data, width="stretch")


def _default_watch(dataset: Dataset) -> tuple[int, ...]:
    from explainer.snapshots import default_watch

    return default_watch(dataset.test_labels)
