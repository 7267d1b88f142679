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


#: the error families a page can receive over HTTP, as the code raises them: the API's own, the
#: basket's, returns, the store, the register, quantities, codes, the check services, stamps,
#: age documents, and central's refusals (its simulator is the contract's reference)
RAISED = re.compile(
    r"\b(?:ApiError\(\d+, |BasketError\(|ReturnError\(|StoreError\(|RegisterError\(|MeasureError\(|"
    r'ParseError\(|CodeError\(|VerifyError\(|StampError\(|TokenError\(|Refusal\()\s*"([a-z_0-9]+)"'
)


def raised_codes() -> set[str]:
    codes = set()
    for path in [*(ROOT / "edge_agent").rglob("*.py"), *(ROOT / "sim" / "central").rglob("*.py")]:
        codes |= set(RAISED.findall(path.read_text(encoding="utf-8")))
    from typing import get_args

    from edge_agent.codes.errors import ERROR_CODES
    from edge_agent.fiscal.register import ErrorKind

    return codes | ERROR_CODES | set(get_args(ErrorKind)) | {"central_unavailable", "network", "generic"}


def test_every_error_a_page_can_receive_has_words_in_both_languages() -> None:
    texts = json.loads((WEB / "texts.json").read_text(encoding="utf-8"))
    codes = raised_codes()
    assert len(codes) > 80  # the scan found the families (a broken pattern would find none)
    for language in ("ru", "en"):
        assert codes - set(texts[language]["errors"]) == set(), language


def test_the_russian_words_a_shopper_reads_have_no_english_in_them() -> None:
    ru = json.loads((WEB / "texts.json").read_text(encoding="utf-8"))["ru"]
    allowed = {"QR", "SMS", "RFID", "PIN", "ID", "MAX", "PDF"}
    for family in ("errors", "faults", "pay_reasons", "problems", "notices", "age", "product_reasons"):
        for code, said in ru[family].items():
            latin = set(re.findall(r"[A-Za-z]{2,}", said)) - allowed
            assert not latin, f"{family}.{code}: {said}"
