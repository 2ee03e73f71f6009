"""Plotly figure builders: data in, ``go.Figure`` out, every label in the chosen language.

Figures carry no Streamlit code, so the CLI, notebooks and tests can build them too. Each
uses a projector-friendly template: large fonts, no chart junk, colour-blind-safe colours.
"""

from .descent import lr_sweep_figure, one_weight_figure, race_figure
from .landscape import landscape_lines_figure, landscape_surface_figure
from .model import confusion_figure, digit_grid, live_training_figure, per_class_figure, runs_figure, training_curves
from .network import feature_maps_figure, flatten_vector_figure, image_figure, kernels_figure, preprocessing_figure, vector_figure
from .saliency import attribution_figure, deletion_figure, sanity_figure, similarity_figure
from .stages import (
    activation_curves_figure,
    activation_grid_figure,
    conv_figure,
    flatten_figure,
    gradient_flow_figure,
    linear_figure,
    pool_figure,
    softmax_figure,
)

__all__ = [
    "landscape_lines_figure",
    "landscape_surface_figure",
    "lr_sweep_figure",
    "one_weight_figure",
    "race_figure",
    "activation_curves_figure",
    "activation_grid_figure",
    "attribution_figure",
    "deletion_figure",
    "sanity_figure",
    "similarity_figure",
    "confusion_figure",
    "conv_figure",
    "digit_grid",
    "feature_maps_figure",
    "flatten_vector_figure",
    "image_figure",
    "kernels_figure",
    "live_training_figure",
    "preprocessing_figure",
    "runs_figure",
    "vector_figure",
    "flatten_figure",
    "gradient_flow_figure",
    "linear_figure",
    "per_class_figure",
    "pool_figure",
    "softmax_figure",
    "training_curves",
]
