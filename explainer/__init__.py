"""CNN Explainer: the library behind the app — models, data, training, checkpoints, figures.

Nothing here imports Streamlit except the :mod:`explainer.ui` subpackage; the same
functions serve the pages, the command line (``python -m explainer``) and the tests.
"""

__version__ = "0.1.0"
