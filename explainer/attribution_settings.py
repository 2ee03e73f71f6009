"""What the attribution methods can be told: every setting declared once, and the checked values.

A :class:`Setting` is one knob — its name, its kind (a whole number, a number or a choice),
its bounds, its default and its choices. :data:`SETTINGS` lists them all, in the order a page
draws them; each method names the ones it reads (:attr:`explainer.methods.Method.settings`).
The page draws one widget per setting, the CLI one flag, and :class:`Settings` checks the
values with the same declaration, so a bound lives in exactly one place::

    for spec in SETTINGS:                          # a page: one widget per setting
        if spec.kind != CHOICE:
            st.number_input(tr(spec.label_key), **spec.widget, help=tr(spec.help_key), key=f"sal_{spec.name}")
        elif options := spec.options(model):       # an MLP has no layer to choose
            st.radio(tr(spec.label_key), options, index=options.index(spec.default_for(model)),
                     format_func=lambda v, s=spec: tr(s.option_key(v)), help=tr(spec.help_key), key=f"sal_{spec.name}")

The catalog holds, for every setting, its widget's label ``sal.setting_label.<name>`` and
help ``sal.setting_help.<name>``; for a choice, each option's label
``sal.choice.<name>.<value>``; for a number, how error sentences name it, ``sal.setting.<name>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from .baselines import BASELINES
from .i18n import LocalizedError, Msg
from .model import MAX_BLOCKS, conv_layers

WHOLE, NUMBER, CHOICE = "whole", "number", "choice"  # the kinds of setting
SMOOTH_OVER = ("saliency", "integrated-gradients")
MAX_STEPS, MAX_SAMPLES = 500, 200  # bounds on the work one request may ask for


@dataclass(frozen=True)
class Setting:
    """One setting of the attribution methods: what it is, its bounds and its default.

    ``low``/``high``/``step`` bound a whole number or a number; ``choices`` are a choice's
    values. ``model_choices`` makes the choices depend on the model (Grad-CAM's layer: the
    model's convolution layers); ``choices`` are then the ones of SimpleCNN, for the CLI.
    ``range_error`` is the catalog key of "out of bounds" (fields ``name, low, high, value``).
    """

    name: str
    kind: str
    default: int | float | str
    low: int | float | None = None
    high: int | float | None = None
    step: int | float | None = None
    choices: tuple[str, ...] = ()
    model_choices: Callable[[nn.Module], Sequence[str]] | None = None
    range_error: str = "err.out_of_range"

    @property
    def label_key(self) -> str:
        return f"sal.setting_label.{self.name}"

    @property
    def help_key(self) -> str:
        return f"sal.setting_help.{self.name}"

    @property
    def name_key(self) -> str:
        """How an error sentence names a number setting ("The number of steps must be …")."""
        return f"sal.setting.{self.name}"

    def option_key(self, value: str) -> str:
        """The catalog key of one option of a choice: ``sal.choice.<name>.<value>``."""
        return f"sal.choice.{self.name}.{value}"

    @property
    def widget(self) -> dict[str, Any]:
        """A number's ``st.number_input`` / ``st.slider`` keywords: ``min_value``, ``max_value``, ``value``, ``step``."""
        if self.kind == CHOICE:
            raise TypeError(f"{self.name} is a choice: its widget takes options(model).")
        return {"min_value": self.low, "max_value": self.high, "value": self.default, "step": self.step}

    def options(self, model: nn.Module | None = None) -> tuple[str, ...]:
        """A choice's values — for ``model`` when they depend on it (an MLP has no layer to choose)."""
        if model is not None and self.model_choices is not None:
            return tuple(self.model_choices(model))
        return self.choices

    def default_for(self, model: nn.Module | None = None) -> int | float | str:
        """The default, or for a choice the model lacks, the model's last option (Grad-CAM: the last conv layer)."""
        options = self.options(model) if self.kind == CHOICE else ()
        return options[-1] if options and self.default not in options else self.default

    def check(self, value: object) -> Any:
        """``value`` as this setting's type, or a :class:`~explainer.i18n.LocalizedError` saying what is wrong."""
        if self.kind == CHOICE:
            if not isinstance(value, str) or value not in self.choices:
                raise LocalizedError("err.unknown_choice", value=str(value)[:30], choices=", ".join(self.choices))
            return value
        name = Msg(self.name_key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LocalizedError("err.not_whole" if self.kind == WHOLE else "err.not_number", name=name, value=str(value)[:30])
        if self.kind == WHOLE and isinstance(value, float) and not value.is_integer():
            raise LocalizedError("err.not_whole", name=name, value=str(value)[:30])
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise LocalizedError(self.range_error, name=name, low=self.show(self.low), high=self.show(self.high),
                                 value=f"{value:g}")
        return int(value) if self.kind == WHOLE else float(value)

    def show(self, number: float) -> str:
        """A bound or value as text: whole numbers in full (2147483647), others short (38)."""
        return str(int(number)) if self.kind == WHOLE else f"{number:g}"


SETTINGS: tuple[Setting, ...] = (
    Setting("baseline", CHOICE, "black", choices=BASELINES),  # x₀ of integrated gradients, deeplift
    Setting("steps", WHOLE, 50, 1, MAX_STEPS, 1),  # integrated gradients: terms of the Riemann sum
    Setting("smooth_over", CHOICE, "saliency", choices=SMOOTH_OVER),  # the method smoothgrad averages
    Setting("samples", WHOLE, 20, 1, MAX_SAMPLES, 1),  # smoothgrad: noisy copies
    # smoothgrad: σ of the noise in pixel units (0–255); 38 ≈ 15 % of the range, as the paper advises
    Setting("noise", NUMBER, 38.0, 0.0, 255.0, 1.0, range_error="err.sal_noise"),
    Setting("window", WHOLE, 4, 1, 28, 1),  # occlusion: side of the black patch
    Setting("stride", WHOLE, 2, 1, 28, 1),  # occlusion: how far the patch moves
    Setting("layer", CHOICE, "conv2", choices=tuple(f"conv{i}" for i in range(1, MAX_BLOCKS + 1)),  # grad-cam
            model_choices=conv_layers),
    Setting("seed", WHOLE, 0, 0, 2**31 - 1, 1),  # the noise baseline, smoothgrad's noise
)
SETTING: dict[str, Setting] = {s.name: s for s in SETTINGS}
DEFAULTS: dict[str, object] = {s.name: s.default for s in SETTINGS}


class Settings(Mapping[str, Any]):
    """A value for every setting, each checked against its :class:`Setting`; the ones not given keep their defaults.

    Read-only and hashable: ``s.steps`` or ``s["steps"]``. A method reads only its own; see
    :meth:`for_method`, which also runs the method's checks across settings.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: object) -> None:
        unknown = sorted(set(values) - set(SETTING))
        if unknown:
            raise TypeError(f"Unknown settings: {', '.join(unknown)}; known: {', '.join(sorted(SETTING))}.")
        object.__setattr__(self, "_values", {s.name: s.check(values.get(s.name, s.default)) for s in SETTINGS})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are read-only; make new ones.")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"

    def __reduce__(self) -> tuple:
        return _settings, (dict(self._values),)

    @classmethod
    def for_method(cls, method: str, **settings: object) -> Settings:
        """The settings of ``method`` taken from ``settings`` (the others keep their defaults), checked.

        A method ignores the settings of the others: a stride larger than the window is an
        error for occlusion, not for saliency.
        """
        from .methods import method_info  # the registry needs Settings; Settings asks it only here

        unknown = sorted(set(settings) - set(SETTING))
        if unknown:
            raise TypeError(f"Unknown settings: {', '.join(unknown)}; known: {', '.join(sorted(SETTING))}.")
        info = method_info(method)
        names = info.relevant({**DEFAULTS, **settings})
        checked = cls(**{n: settings[n] for n in names if n in settings})
        info.check(checked)
        return checked

    def relevant(self, method: str) -> tuple[tuple[str, object], ...]:
        """The settings that change ``method``'s map, as ``(name, value)`` pairs: part of every cache key."""
        from .methods import method_info

        return tuple((n, self._values[n]) for n in method_info(method).relevant(self._values))


def _settings(values: dict[str, object]) -> Settings:
    return Settings(**values)
