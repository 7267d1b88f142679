"""Properties of the identity layer, over more than 100,000 generated inputs in all.

- any text at all gives an Identity or a ParseError, never another exception;
- a mark code built from random valid parts, in any scanner rendering, parses back to them;
- EPC encode -> decode and decode -> encode round-trip;
- Digital Link build -> parse round-trips;
- a parsed code's canonical КМ parses back to the same identity.
"""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.codes import (
    CSET82,
    GS,
    Identity,
    ParseError,
    build_digital_link,
    check_digit,
    encode_sgtin96,
    encode_sgtin198,
    parse,
)
from tests.conftest import examples

DIGITS = "0123456789"
cset82 = st.sampled_from(CSET82)
gtins = st.text(DIGITS, min_size=13, max_size=13).map(lambda body: body + str(check_digit(body)))


def _assert_total(text: str) -> Identity | None:
    """parse() either succeeds with a usable Identity or raises a well-formed ParseError."""
    try:
        item = parse(text)
    except ParseError as e:
        assert e.code and e.message
        assert 0 <= e.position <= len(text)
        return None
    json.dumps(item.to_dict())  # everything a caller prints is serialisable
    assert len(item.gtin) == 14 and item.ki.startswith("01" + item.gtin + "21")
    if item.mark_code is not None:
        assert parse(item.mark_code) == item or item.kind != "datamatrix"
        assert parse(item.mark_code).ki == item.ki
    return item


# -- totality --------------------------------------------------------------------------
@settings(max_examples=examples(25_000))
@given(st.text())
def test_any_unicode_text_gives_identity_or_parse_error(text: str) -> None:
    _assert_total(text)


@settings(max_examples=examples(20_000))
@given(st.text(alphabet=CSET82 + GS + "\\]<>\xe8\udce8 \r\nxud", max_size=120))
def test_any_text_near_the_mark_code_alphabet_gives_identity_or_parse_error(text: str) -> None:
    _assert_total(text)


SEEDS = [
    "0104630070008123" + "21ymxGZZnG838XW\x1d2406403\x1d91ffd0\x1d92" + "m" * 88,
    "0104669000322220215t*NH>t:ngCfH\x1d91FFD0\x1d92dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9GhckDf8JE=",
    "0104610053149777215d/wuU\x1d93dGVz\x1d3103123456",
    "04603731175212JEIjNYDAAAAtFwS",
    "3034257BF7194E4000003039",
    "3666C4409047E159B2C2BF100000000000000000000000000000",
    "https://shop.example/01/04610053149777/21/5d%2FwuU?93=dGVz",
    "]d2\xe80104610053149777215d/wuU<GS>93dGVz",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real code with a few characters replaced, inserted or deleted: what a bad scan looks like."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        char = draw(st.one_of(cset82, st.sampled_from([GS, "\\", "%", "/", "?", "&", "=", "\x00", "é"])))
        if op == "replace":
            text = text[:i] + char + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + char + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i]
    return text


@settings(max_examples=examples(15_000))
@given(mutated())
def test_damaged_real_codes_give_identity_or_parse_error(text: str) -> None:
    _assert_total(text)


# -- mark codes from random valid parts ------------------------------------------------
LAYOUTS = {
    # layout: (serial lengths, verification elements)
    "cz-91-92-44": ((13, 20), (("91", 4), ("92", 44))),
    "cz-91-92-88": ((13,), (("91", 4), ("92", 88))),
    "cz-93": ((6, 7, 13), (("93", 4),)),
}


def _values(n: int) -> st.SearchStrategy[str]:
    return st.text(CSET82, min_size=n, max_size=n)


def _crypto_92(n: int) -> st.SearchStrategy[str]:
    """The crypto code is Base64 of a signature: n characters from n * 3 / 4 random bytes."""
    return st.binary(min_size=n * 3 // 4, max_size=n * 3 // 4).map(lambda b: base64.b64encode(b).decode())


def _no_gs_text(value: str) -> bool:
    return "<GS>" not in value


@st.composite
def mark_codes(draw: st.DrawFn) -> tuple[str, str, str, dict[str, str], dict[str, str], str]:
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    lengths, crypto_spec = LAYOUTS[layout]
    gtin = draw(gtins)
    # "<GS>" inside a value would read as a written-out separator (test_markcode covers that)
    serial = draw(
        (st.text(CSET82, min_size=1, max_size=20) | st.sampled_from(lengths).flatmap(_values)).filter(_no_gs_text)
    )
    crypto = {ai: draw(_crypto_92(n) if ai == "92" else _values(n).filter(_no_gs_text)) for ai, n in crypto_spec}
    extra: dict[str, str] = {}
    if layout == "cz-91-92-88" and draw(st.booleans()):
        extra["240"] = draw(st.text(DIGITS, min_size=4, max_size=4))
    if layout == "cz-93":
        ai = draw(st.sampled_from([None, "3103", "3352", "8005"]))
        if ai is not None:
            extra[ai] = draw(st.text(DIGITS, min_size=6, max_size=6))
    parts = ["01", gtin, "21", serial, GS]
    if "240" in extra:
        parts += ["240", extra["240"], GS]
    parts.append(GS.join(ai + value for ai, value in crypto.items()))
    for ai in ("3103", "3352", "8005"):
        if ai in extra:
            parts += [GS, ai, extra[ai]]
    code = "".join(parts)
    standard_serial = len(serial) in lengths
    form = draw(st.sampled_from(["gs", "\\x1d", "\\u001d", "<GS>", "missing"] if standard_serial else ["gs", "<GS>"]))
    rendered = code.replace(GS, {"gs": GS, "missing": ""}.get(form, form))
    prefix = draw(st.sampled_from(["", "]d2", "\xe8", "]d2\xe8"]))
    return prefix + rendered, gtin, serial, crypto, extra, code


@settings(max_examples=examples(10_000))
@given(mark_codes())
def test_mark_code_from_random_valid_parts_parses_back_to_them(
    case: tuple[str, str, str, dict[str, str], dict[str, str], str],
) -> None:
    rendered, gtin, serial, crypto, extra, canonical = case
    item = parse(rendered)
    assert (item.gtin, item.serial) == (gtin, serial)
    assert item.crypto == crypto
    assert item.extra == extra
    assert item.ki == "01" + gtin + "21" + serial
    assert item.mark_code == canonical


# -- EPC -------------------------------------------------------------------------------
@settings(max_examples=examples(10_000))
@given(gtins, st.integers(0, 2**38 - 1), st.integers(6, 12), st.integers(0, 7))
def test_sgtin96_encode_then_decode_round_trips(gtin: str, serial: int, cpl: int, filter_: int) -> None:
    item = parse(encode_sgtin96(gtin, str(serial), cpl, filter_))
    assert (item.kind, item.gtin, item.serial) == ("sgtin-96", gtin, str(serial))
    assert item.epc is not None
    assert (item.epc.filter, item.epc.company_prefix) == (filter_, gtin[1 : 1 + cpl])
    assert item.epc_uri == f"urn:epc:id:sgtin:{gtin[1 : 1 + cpl]}.{gtin[0]}{gtin[1 + cpl : 13]}.{serial}"


@settings(max_examples=examples(10_000))
@given(
    gtins, st.text(CSET82, min_size=1, max_size=20), st.integers(6, 12), st.integers(0, 7), st.sampled_from([50, 52])
)
def test_sgtin198_encode_then_decode_round_trips(gtin: str, serial: str, cpl: int, filter_: int, digits: int) -> None:
    hex_ = encode_sgtin198(gtin, serial, cpl, filter_=filter_, hex_digits=digits)
    item = parse(hex_)
    assert (item.kind, item.gtin, item.serial) == ("sgtin-198", gtin, serial)
    assert item.epc is not None and item.epc.filter == filter_
    assert encode_sgtin198(item.gtin, item.serial, cpl, filter_=filter_, hex_digits=digits) == hex_


@settings(max_examples=examples(10_000))
@given(st.integers(0, 7), st.integers(0, 6), st.integers(0, 2**44 - 1), st.integers(0, 2**38 - 1))
def test_any_sgtin96_bit_pattern_decodes_and_re_encodes_or_is_refused(
    filter_: int, partition: int, both: int, serial: int
) -> None:
    hex_ = f"{((0x30 << 3 | filter_) << 3 | partition) << 82 | both << 38 | serial:024X}"
    try:
        item = parse(hex_)
    except ParseError as e:
        assert e.code == "invalid_epc"
        return
    assert encode_sgtin96(item.gtin, item.serial, 12 - partition, filter_) == hex_


# -- Digital Link ----------------------------------------------------------------------
@settings(max_examples=examples(8_000))
@given(
    gtins,
    st.text(CSET82, min_size=1, max_size=20),
    st.sampled_from(["https://id.example", "http://127.0.0.1:8080", "https://x.example/some/prefix/"]),
    st.one_of(st.none(), st.text(CSET82, min_size=4, max_size=4)),
)
def test_digital_link_build_then_parse_round_trips(gtin: str, serial: str, base: str, code93: str | None) -> None:
    uri = build_digital_link(gtin, serial, base=base, attributes=None if code93 is None else {"93": code93})
    item = parse(uri)
    assert (item.kind, item.gtin, item.serial) == ("digital_link", gtin, serial)
    assert item.crypto == (None if code93 is None else {"93": code93})
