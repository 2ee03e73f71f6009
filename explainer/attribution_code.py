"""The Captum code behind each attribution map, as a student would type it (shown under the maps).

The lines use the page's settings, so that the code and the picture always agree. Each
method writes its own lines and names its imports and baselines
(:meth:`explainer.methods.Method.code`); this module puts them together into one script.
"""

from __future__ import annotations

from .attribution_settings import BASELINES, Settings
from .baselines import MNIST_NORMALIZATION, baseline_code
from .methods import method_info


def method_code(method: str, target: int, settings: Settings | None = None,
                normalization: tuple[float, float] = MNIST_NORMALIZATION) -> str:
    """The Captum lines that compute ``method``'s map for class ``target``, with these settings."""
    return method_info(method).code(target, settings or Settings(), normalization)


def captum_code(methods: list[str], target: int, settings: dict[str, object],
                normalization: tuple[float, float] = MNIST_NORMALIZATION) -> str:
    """A short script: the imports, the baselines and one Captum call per method (settings as on the page)."""
    chosen = {m: Settings.for_method(m, **settings) for m in methods}
    names: set[str] = set()
    baselines: set[str] = set()
    for m, s in chosen.items():
        names.update(method_info(m).imports(s))
        baselines.update(method_info(m).baselines(s))
    imports = f"from captum.attr import {', '.join(sorted(names))}"
    if len(imports) > 90:
        imports = "from captum.attr import (\n" + "".join(f"    {n},\n" for n in sorted(names)) + ")"
    lines = [imports, "", "model.eval()"]
    lines += [baseline_code(b, normalization) for b in BASELINES if b in baselines]
    return "\n".join(lines + [""] + [method_code(m, target, s, normalization) for m, s in chosen.items()])
