"""How a model does on the test digits: figures, confusion matrix and mistakes, for any page."""

from __future__ import annotations

import streamlit as st
import torch

from explainer.evaluate import EvaluationReport
from explainer.figures import confusion_figure, digit_grid, per_class_figure

from .figure_cache import kept_with
from .presenter import plotly_chart
from .state import language, tr


def test_results(report: EvaluationReport, classes: tuple[str, ...] | list[str], test_images: torch.Tensor, prefix: str) -> None:
    """Accuracy, loss, the confusion matrix, accuracy per class and the most confident mistakes."""
    lang = language()
    result = report.result
    c1, c2, c3 = st.columns(3)
    c1.metric(tr("home.metric.accuracy"), f"{result.accuracy:.1%}")
    c2.metric(tr("model.test.loss"), f"{result.loss:.3f}")
    c3.metric(tr("model.test.images"), f"{result.n:,}")
    left, right = st.columns([3, 2])
    with left:
        st.subheader(tr("model.test.confusion"))
        plotly_chart(kept_with(report, ("confusion", tuple(classes), lang), lambda: confusion_figure(result.confusion, classes, lang)),
                     key=f"{prefix}confusion")
    with right:
        st.subheader(tr("model.test.per_class"))
        plotly_chart(kept_with(report, ("per_class", tuple(classes), lang),
                               lambda: per_class_figure(result.per_class_accuracy(), classes, lang)), key=f"{prefix}per_class")
        st.markdown(tr("model.test.confusion_notice"))
    if report.mistakes:
        st.subheader(tr("model.test.mistakes"))
        captions = [
            tr("model.test.mistake_caption", true=classes[m.true], predicted=classes[m.predicted], confidence=f"{m.confidence:.0%}")
            for m in report.mistakes
        ]
        grid = kept_with(report, ("mistakes", tuple(captions)),
                         lambda: digit_grid(test_images[[m.index for m in report.mistakes]].numpy(), captions, columns=8))
        plotly_chart(grid, key=f"{prefix}mistakes")
        st.caption(tr("model.test.mistakes_caption"))
