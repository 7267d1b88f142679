"""One translation file for every page: both languages say everything, and every text a page
asks for exists."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT

WEB = ROOT / "edge_agent" / "web"


def test_russian_and_english_have_the_same_texts_and_none_is_empty() -> None:
    texts = json.loads((WEB / "texts.json").read_text(encoding="utf-8"))
    assert set(texts) == {"ru", "en"}

    def keys(d: dict[str, object], prefix: str = "") -> set[str]:
        out = set()
        for k, v in d.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}"}
            assert v, f"{prefix}{k} is empty"
        return out

    assert keys(texts["ru"]) == keys(texts["en"])


def test_every_text_a_page_uses_is_in_the_file() -> None:
    texts = json.loads((WEB / "texts.json").read_text(encoding="utf-8"))["ru"]
    used = set()
    for page in [*WEB.glob("*.js"), WEB / "product.html"]:
        used |= set(re.findall(r"\bt\.([a-z_]+)\b", page.read_text(encoding="utf-8")))
        used |= set(re.findall(r'\bt\["([a-z_]+)"\]', page.read_text(encoding="utf-8")))
    assert used, "no page uses a text"
    assert used - set(texts) == set()
