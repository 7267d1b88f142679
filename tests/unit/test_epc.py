"""SGTIN-96 and SGTIN-198: decode, encode, and the Tag Data Standard's URI escaping."""

from __future__ import annotations

import pytest

from edge_agent.codes import EncodeError, ParseError, encode_sgtin96, encode_sgtin198, parse


def test_tds_sgtin96_vector_decodes_to_gtin_serial_and_uri() -> None:
    item = parse("3074257BF7194E4000001A85")
    assert item.kind == "sgtin-96"
    assert (item.gtin, item.serial) == ("80614141123458", "6789")
    assert item.epc_uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert item.epc is not None and item.epc.filter == 3


def test_sgtin96_with_partition_1_and_filter_3() -> None:
    item = parse("3066C4409047E140075BCD15")
    assert (item.gtin, item.serial) == ("09506000134352", "123456789")
    assert item.epc is not None and (item.epc.filter, item.epc.company_prefix) == (3, "95060001343")


def test_sgtin96_lowercase_hex_is_accepted() -> None:
    assert parse("3034257bf7194e4000003039").serial == "12345"


def test_sgtin198_uri_escapes_slash_and_other_tds_characters() -> None:
    hex_ = encode_sgtin198("04610053149777", '5d/w"%&<>?', 7)
    item = parse(hex_)
    assert item.serial == '5d/w"%&<>?'
    assert item.epc_uri == "urn:epc:id:sgtin:4610053.014977.5d%2Fw%22%25%26%3C%3E%3F"


def test_sgtin198_as_50_hex_digits_decodes_like_52() -> None:
    long = encode_sgtin198("04653820923088", "5GoNfWgdcBeVZ", 7, hex_digits=52)
    short = encode_sgtin198("04653820923088", "5GoNfWgdcBeVZ", 7, hex_digits=50)
    assert len(long) == 52 and len(short) == 50
    assert parse(long) == parse(short)
    assert parse(long).ki == "0104653820923088215GoNfWgdcBeVZ"


def test_encode_matches_tds_vector() -> None:
    assert encode_sgtin96("80614141123458", "12345", 7) == "3034257BF7194E4000003039"
    assert (
        encode_sgtin198("09506000134352", "32a/b", 11, filter_=3)
        == "3666C4409047E159B2C2BF100000000000000000000000000000"
    )


@pytest.mark.parametrize(
    ("hex_", "code"),
    [
        ("E20034120000000000000000", "unsupported_epc"),
        ("3500000000000000000000000000000000000000000000000000", "unsupported_epc"),
        ("303C257BF7194E4000003039", "invalid_epc"),  # partition 7 does not exist
        ("3036C4409047E159B2C2BF10", "invalid_epc"),  # SGTIN-96 header, partition 5, prefix too big
        ("3066C4409047E140075BCD15" + "00", "unknown_layout"),  # 26 hex digits: not an EPC length
        ("36" + "0" * 48, "invalid_epc"),  # partition 0 fine, but an empty serial
        ("3036", "unknown_layout"),
    ],
)
def test_bad_epc_gives_typed_error(hex_: str, code: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(hex_)
    assert info.value.code == code, info.value.message


def test_sgtin198_with_nul_inside_the_serial_is_invalid() -> None:
    good = encode_sgtin198("04653820923088", "ABCD", 7)
    value = int(good, 16)
    # clear the 2nd character (bits 190..184 of the 198 counted from the top)
    shift = 4 * 52 - 198 + 140 - 14
    broken = f"{value & ~(0x7F << shift):052X}"
    with pytest.raises(ParseError) as info:
        parse(broken)
    assert info.value.code == "invalid_epc"
    assert "NUL" in info.value.message


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: encode_sgtin96("80614141123457", "1", 7), "gtin_check_digit"),
        (lambda: encode_sgtin96("80614141123458", "0123", 7), "invalid_epc"),
        (lambda: encode_sgtin96("80614141123458", str(2**38), 7), "invalid_epc"),
        (lambda: encode_sgtin96("80614141123458", "1", 13), "invalid_epc"),
        (lambda: encode_sgtin198("80614141123458", "x" * 21, 7), "invalid_epc"),
        (lambda: encode_sgtin198("80614141123458", "a b", 7), "invalid_epc"),
        (lambda: encode_sgtin198("80614141123458", "ab", 7, filter_=8), "invalid_epc"),
    ],
)
def test_encode_refuses_what_does_not_fit(call: object, code: str) -> None:
    with pytest.raises(EncodeError) as info:
        call()  # type: ignore[operator]
    assert info.value.code == code
