"""The pages' texts (``web/texts.json``, Russian and English), for what the agent renders
itself: the phone's product page. The kiosk and staff pages read the same file."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from edge_agent.api.locale import Lang

WEB = Path(__file__).resolve().parent.parent / "web"


@cache
def _all() -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = json.loads((WEB / "texts.json").read_text(encoding="utf-8"))
    return texts


def texts(lang: Lang) -> dict[str, Any]:
    """A page's texts: strings, and tables of them by code (``product_reasons``, ``notices``)."""
    return _all()[lang]


def lang_of(accept_language: str) -> Literal["ru", "en"]:
    """The reader's language from Accept-Language: English if it comes first, else Russian."""
    return "en" if accept_language.lower().startswith("en") else "ru"
