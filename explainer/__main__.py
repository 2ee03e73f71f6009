"""``python -m explainer``: see :mod:`explainer.cli`."""

import sys

from .cli import main

sys.exit(main())
