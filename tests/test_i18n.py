"""The catalogue: every key used in the code exists in both languages, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from dashboard.i18n import CATALOGUE, day, number, percent, t

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*ROOT.glob("dashboard/**/*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("auth/*.py")]
LITERAL_KEY = re.compile(r"""\b(?:t|tr)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_literal_key_is_in_the_catalogue(path):
    missing = sorted(set(LITERAL_KEY.findall(path.read_text(encoding="utf-8"))) - set(CATALOGUE))
    assert missing == []


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_both_languages_have_the_same_placeholders(key):
    french, english = CATALOGUE[key]
    assert french and english
    assert _placeholders(french) == _placeholders(english)


def test_formats_follow_the_locale():
    from datetime import date

    assert number(1234.5, "fr", 1).replace("\u202f", " ").replace("\xa0", " ") == "1 234,5"
    assert number(1234.5, "en", 1) == "1,234.5"
    assert percent(0.523, "fr", 1).replace("\u202f", " ").replace("\xa0", " ") == "52,3 %"
    assert percent(0.523, "en", 1) == "52.3%"
    assert day(date(2026, 11, 21), "fr") == "21 nov. 2026"
    assert t("app.logout", "en") == "Sign out"
