"""Cached, shared datasets and per-model test reports for the pages."""

from __future__ import annotations

import streamlit as st

from explainer.data import Dataset, DatasetUnavailable, load_dataset
from explainer.evaluate import EvaluationReport, evaluation_report

from .state import SharedModel


@st.cache_resource(max_entries=3, show_spinner=False)
def shared_dataset(name: str) -> Dataset:
    """A dataset loaded once per process and shared; pages only read its tensors."""
    return load_dataset(name, download=False)


def digits_to_choose(name: str) -> Dataset | None:
    """The test digits a page's chooser offers, or None where the dataset is not on this machine (then
    the chooser offers drawing and uploading only)."""
    try:
        return shared_dataset(name)
    except DatasetUnavailable:
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_evaluation_report(_shared: SharedModel, digest: str, dataset_name: str) -> EvaluationReport:
    """:func:`explainer.evaluate.evaluation_report`, cached per (model file digest, dataset): one shared, read-only
    report (not a copy per call), so that the figures kept with it (:func:`explainer.ui.figure_cache.kept_with`)
    are built once for every tab."""
    dataset = shared_dataset(dataset_name)
    meta = _shared.meta
    return evaluation_report(_shared.model, dataset.test_images, dataset.test_labels, (meta.mean, meta.std))
