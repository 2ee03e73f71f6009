import re
from pathlib import Path

import pytest

from explainer.i18n import LANGUAGES, catalog, catalog_problems, fields_of, normalize_language, t

ROOT = Path(__file__).resolve().parent.parent


def test_both_catalogs_have_the_same_keys_and_fields():
    assert catalog_problems() == []
    assert set(LANGUAGES) == {"en", "zh"}


def test_catalog_problems_reports_a_missing_key(monkeypatch):
    zh = dict(catalog("zh"))
    zh.pop("app.title")
    zh["home.title"] = "{oops}"
    monkeypatch.setattr("explainer.i18n.catalog", lambda lang: zh if lang == "zh" else catalog.__wrapped__(lang))
    problems = catalog_problems()
    assert "zh: missing app.title" in problems
    assert any(p.startswith("zh: home.title has fields") for p in problems)


def test_lookup_and_formatting():
    assert t("sidebar.parameters", "en", count="52,138") == "52,138 parameters"
    assert t("sidebar.parameters", "zh", count="52,138") == "52,138 个参数"
    assert t("app.title", "xx") == t("app.title", "en")
    with pytest.raises(KeyError):
        t("no.such.key", "en")


@pytest.mark.parametrize("value,expected", [("zh", "zh"), ("zh-CN", "zh"), ("ZH_cn", "zh"), ("en-GB", "en"), ("fr", "en"), (None, "en"), (["zh"], "en")])
def test_normalize_language(value, expected):
    assert normalize_language(value) == expected


def test_fields_of():
    assert fields_of("{a} and {b:.1f}") == {"a", "b"}


def test_every_literal_key_in_the_code_exists():
    """A typo in tr("...") / t("...") would raise on a classroom projector: catch it here."""
    pattern = re.compile(r"""\bt(?:r)?\(\s*["']([a-z0-9_.\-]+)["']""")
    files = list((ROOT / "pages").glob("*.py")) + list((ROOT / "explainer").rglob("*.py")) + [ROOT / "streamlit_app.py"]
    used = {key for f in files for key in pattern.findall(f.read_text(encoding="utf-8"))}
    assert len(used) > 30
    missing = sorted(used - set(catalog("en")))
    assert missing == []


def test_chinese_uses_course_terms():
    zh = " ".join(catalog("zh").values())
    for term in ("卷积", "池化", "展平", "全连接层", "交叉熵", "准确率", "学习率"):
        assert term in zh
