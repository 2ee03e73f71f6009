"""The string catalog: every user-visible text of the app, in English and Simplified Chinese.

The catalogs live in ``explainer/locales/<lang>.json`` as flat ``key → text`` maps; texts
may hold ``str.format`` fields such as ``{accuracy}``. Both catalogs must have exactly the
same keys and the same fields per key (a test enforces it). Chinese uses the terms of
Chinese deep-learning courses: 卷积, 卷积核, 步长, 填充, 池化, 展平, 全连接层, 激活函数 ...

    >>> t("app.title", "zh")
    'CNN 图解'
"""

from __future__ import annotations

import json
import string
from functools import cache
from pathlib import Path

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The ``key → text`` map of one language (read once per process)."""
    if lang not in LANGUAGES:
        raise ValueError(f"Unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}.")
    with open(_LOCALES / f"{lang}.json", encoding="utf-8") as f:
        return json.load(f)


def normalize_language(value: object) -> str:
    """A supported language code for ``value`` (``"zh-CN"`` → ``"zh"``), else the default."""
    if isinstance(value, str):
        code = value.strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **fields: object) -> str:
    """The text for ``key`` in ``lang``, with ``fields`` filled in.

    An unknown key raises KeyError: a missing text is a bug the tests must catch, not
    something to paper over on a classroom projector.
    """
    text = catalog(normalize_language(lang))[key]
    return text.format(**fields) if fields else text


def fields_of(text: str) -> set[str]:
    """The ``{field}`` names a text expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def catalog_problems() -> list[str]:
    """Every difference between the catalogs: missing keys, or keys whose fields disagree."""
    problems = []
    base = catalog(DEFAULT_LANGUAGE)
    for lang in LANGUAGES:
        other = catalog(lang)
        for key in sorted(set(base) - set(other)):
            problems.append(f"{lang}: missing {key}")
        for key in sorted(set(other) - set(base)):
            problems.append(f"{DEFAULT_LANGUAGE}: missing {key} (present in {lang})")
        for key in sorted(set(base) & set(other)):
            if fields_of(base[key]) != fields_of(other[key]):
                problems.append(f"{lang}: {key} has fields {sorted(fields_of(other[key]))}, not {sorted(fields_of(base[key]))}")
            if not other[key].strip():
                problems.append(f"{lang}: {key} is empty")
    return problems


class Msg:
    """A text to show later, in whatever language the reader has: a catalog key and its fields.

    Field values may be :class:`Msg` themselves (``name=Msg("name.kernel")``) and are
    translated too, so a library can build a message once and every page, in English or
    Chinese, renders it whole.
    """

    __slots__ = ("key", "fields")

    def __init__(self, key: str, /, **fields: object) -> None:
        self.key = key
        self.fields = fields

    def render(self, lang: str = DEFAULT_LANGUAGE) -> str:
        values = {k: v.render(lang) if isinstance(v, Msg) else v for k, v in self.fields.items()}
        return t(self.key, lang, **values)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, **{self.fields!r})"


class LocalizedError(ValueError):
    """A ValueError whose message can be rendered in any language (``str()`` gives English)."""

    def __init__(self, key: str, /, **fields: object) -> None:
        self.msg = Msg(key, **fields)
        super().__init__(self.msg.render(DEFAULT_LANGUAGE))

    def message(self, lang: str) -> str:
        return self.msg.render(lang)


def error_message(exc: BaseException, lang: str) -> str:
    """The text of ``exc`` for a reader of ``lang`` (English for errors that are not localized)."""
    return exc.message(lang) if isinstance(exc, LocalizedError) else str(exc)
