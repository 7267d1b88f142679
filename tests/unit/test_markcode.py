"""DataMatrix mark codes and the tobacco pack: every layout, every scanner quirk, every error."""

from __future__ import annotations

import base64

import pytest

from edge_agent.codes import GS, ParseError, parse

SHOES_88 = (
    "010463007000812321ymxGZZnG838XW\x1d2406403\x1d91ffd0\x1d92"
    "mliP3gYsRdl6IorVEB8/4vYOHiPQsKeCeayAqCjwWDhl0cK4SYMZwD8SU3aKdhNtXf/pSBbSC9V6o8BLIoBW0Q=="
)
LP_44 = "0104669000322220215t*NH>t:ngCfH\x1d91FFD0\x1d92dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9GhckDf8JE="
CAMERA_20 = "0104669000322275215TXpf?A.tXlJ;ZJFn'Li\x1d91FFD0\x1d92dGVzdIPiTENrtHlgbiheL880JGjG6vjQS/UWNuxQCFs="
MILK = "0104610053149777215d/wuU\x1d93dGVz"
BEER = "0104610053147452215d,OiLl\x1d93dGVz"
WATER = "0104653820923088215GoNfWgdcBeVZ\x1d93dGVz"
TOBACCO_BLOCK = "0104600439931256215Ci8!A7\x1d8005012345\x1d93ab+/"
PACK = "04603731175212JEIjNYDAAAAtFwS"


def error_of(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    return info.value


# -- layouts --------------------------------------------------------------------------
def test_shoes_code_with_88_char_crypto_and_tnved_is_shoes() -> None:
    item = parse(SHOES_88)
    assert (item.gtin, item.serial, item.layout) == ("04630070008123", "ymxGZZnG838XW", "cz-91-92-88")
    assert item.extra == {"240": "6403"}
    assert item.groups == ("shoes",)
    assert item.mark_code == SHOES_88


def test_light_industry_code_keeps_serial_with_gs1_punctuation() -> None:
    item = parse(LP_44)
    assert item.serial == "5t*NH>t:ngCfH"
    assert item.crypto == {"91": "FFD0", "92": "dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9GhckDf8JE="}
    assert "lp" in item.groups and "shoes" in item.groups


def test_camera_code_has_20_char_serial_and_is_electronics() -> None:
    item = parse(CAMERA_20)
    assert len(item.serial) == 20
    assert item.groups == ("electronics",)


def test_milk_serial_of_six_is_milk_and_weight_is_an_extra_ai() -> None:
    item = parse(MILK + GS + "3103000450")
    assert item.serial == "5d/wuU"
    assert item.extra == {"3103": "000450"}
    assert item.groups == ("milk",)


def test_beer_volume_ai_makes_it_beer() -> None:
    item = parse(BEER + GS + "3353000500")
    assert item.groups[0] == "beer"
    assert item.extra == {"3353": "000500"}


def test_water_with_93_short_code() -> None:
    item = parse(WATER)
    assert item.layout == "cz-93" and "water" in item.groups


def test_tobacco_block_carries_its_price_in_8005() -> None:
    item = parse(TOBACCO_BLOCK)
    assert item.extra == {"8005": "012345"}
    assert item.groups == ("tobacco", "ncp")
    # 8005 has a fixed length but is not one of GS1's predefined-length AIs (the Syntax
    # Dictionary has no "*" on it): the printed code has a GS after it, and so does every form
    # the agent sends
    assert item.mark_code == TOBACCO_BLOCK
    assert item.true_api_code == TOBACCO_BLOCK
    assert base64.b64decode(item.ts_piot_code or "").decode() == TOBACCO_BLOCK


def test_a_code_with_an_expiry_time_in_7003_keeps_its_separator() -> None:
    code = "0104610053149777215d/wuU\x1d70032612312359\x1d93dGVz"
    item = parse(code)
    assert item.extra == {"7003": "2612312359"} and item.mark_code == code == item.true_api_code
    assert base64.b64decode(item.ts_piot_code or "").decode() == code


def test_predefined_length_ais_still_need_no_separator() -> None:
    code = "0104610053149777215d/wuU\x1d3103000500" + "93dGVz"  # 310n is predefined: no GS after it
    item = parse(code)
    assert item.extra == {"3103": "000500"} and item.mark_code == code


def test_tobacco_pack_29_chars_gives_ki_with_ais_and_local_module_first_21() -> None:
    item = parse(PACK)
    assert item.kind == "tobacco_pack"
    assert item.ki == "010460373117521221JEIjNYD"
    assert item.local_module_code == "04603731175212JEIjNYD"
    assert item.true_api_code == PACK
    assert item.to_dict()["pack"] == {"mrp": "AAAA", "check": "tFwS"}


def test_nicotine_pack_with_semicolon_in_serial() -> None:
    item = parse("00840147505712Zz;ZnRbAAAAdGVz")
    assert (item.gtin, item.serial) == ("00840147505712", "Zz;ZnRb")


def test_backend_forms_full_code_ki_and_base64() -> None:
    item = parse(MILK)
    assert item.true_api_code == MILK
    assert item.local_module_code == "0104610053149777215d/wuU"
    assert base64.b64decode(item.ts_piot_code or "").decode() == MILK


def test_serial_containing_91_and_93_is_not_split_there() -> None:
    code = "010463007000812321A91b93c91d93e\x1d91ffd0\x1d92" + "A" * 44
    item = parse(code)
    assert item.serial == "A91b93c91d93e"
    assert item.crypto == {"91": "ffd0", "92": "A" * 44}


# -- separators and prefixes --------------------------------------------------------------
@pytest.mark.parametrize("sep", ["\x1d", "\\x1d", "\\x1D", "\\u001d", "\\u001D", "<GS>"])
def test_every_written_form_of_the_separator_gives_the_same_identity(sep: str) -> None:
    assert parse(LP_44.replace(GS, sep)) == parse(LP_44)


@pytest.mark.parametrize("prefix", ["]d2", "\xe8", "\udce8", "]d2\xe8"])
def test_symbology_prefix_and_fnc1_are_ignored(prefix: str) -> None:
    assert parse(prefix + MILK) == parse(MILK)


def test_fnc1_as_0xe8_between_elements_is_a_separator() -> None:
    assert parse(MILK.replace(GS, "\xe8")) == parse(MILK)


def test_surrounding_newline_and_spaces_from_a_scanner_are_ignored() -> None:
    assert parse(f"  {MILK}\r\n") == parse(MILK)


def test_trailing_gs_is_tolerated() -> None:
    assert parse(MILK + GS) == parse(MILK)


@pytest.mark.parametrize("code", [SHOES_88, LP_44, CAMERA_20, MILK, BEER, WATER, MILK + GS + "3103123456"])
def test_missing_separators_are_placed_by_structure(code: str) -> None:
    item = parse(code.replace(GS, ""))
    assert item == parse(code)
    assert item.separators_inferred
    assert item.mark_code == parse(code).mark_code


def test_ki_only_code_without_verification_part_has_no_mark_code() -> None:
    item = parse("0104653820923088215GoNfWgdcBeVZ")
    assert item.layout == "cz-ki-only"
    assert item.mark_code is None and item.ts_piot_code is None


# -- errors: every code, with its position -----------------------------------------------
@pytest.mark.parametrize(
    ("text", "code", "position"),
    [
        ("", "empty_input", 0),
        (" \t\r\n", "empty_input", 0),
        (GS + MILK, "bad_separator", 0),
        (MILK.replace(GS, GS + GS), "bad_separator", 25),
        ("0104610053149777215d/wuU\x1d93dGVz\x1d93dGVz", "duplicate_ai", 32),
        ("0104610053149777215d/wuU\x1d93dGVz\x1d88dGVz", "unknown_ai", 32),
        ("0104610053149778215d/wuU\x1d93dGVz", "gtin_check_digit", 15),
        ("0204610053149777215d/wuU\x1d93dGVz", "unknown_layout", 0),
        ("0104610053149777225d/wuU\x1d93dGVz", "unknown_layout", 16),
        ("010461005314", "truncated", 12),
        ("0104610053149777", "truncated", 16),
        ("0104610053149777215d/wuU\x1d93dGV", "bad_length", 27),
        ("0104610053149777215d/wuU\x1d93dGVzz", "bad_length", 27),
        ("0104669000322220215t*NH>t:ngCfH\x1d91FFD0\x1d92dGVz", "bad_length", 41),
        ("0104669000322220215t*NH>t:ngCfH\x1d91FFD0", "truncated", 38),
        ("0104653820923088215GoNfWgdcBeVZ\x1d93dGVz\x1d91FFD0\x1d92" + "A" * 44, "unknown_layout", 92),
        ("0104610053149777215d/wu\u00fc\x1d93dGVz", "invalid_character", 23),
        ("0104610053149777215d/wuU\x1d93dG Vz", "invalid_character", 29),
        ("0104610053149777215d/wuU\x1d3103ab3456", "invalid_character", 29),
        ("0104610053149777215d/wuU\x1d310312", "truncated", 31),
        ("01046100531497772112345678901234567890123\x1d93dGVz", "bad_length", 18),
        ("]x20104610053149777215d/wuU\x1d93dGVz", "unknown_layout", 0),
        ("]d2", "truncated", 3),
        ("01046100531497772158888888888888888888888888888888", "bad_separator", 18),
        ("E20034120000000000000000", "unsupported_epc", 0),
    ],
)
def test_bad_input_gives_typed_error_at_the_right_place(text: str, code: str, position: int) -> None:
    err = error_of(text)
    assert (err.code, err.position) == (code, position), err.message
    assert err.message


def test_error_position_counts_written_out_separators_in_the_original_input() -> None:
    # `\x1d` written out is 4 characters: the bad 93 value starts at 30 in what the user typed
    err = error_of("0104610053149777215d/wuU\\x1d93dGV")
    assert (err.code, err.position) == ("bad_length", 30)


def test_error_position_counts_leading_blanks_and_prefix() -> None:
    err = error_of("  ]d20104610053149778215d/wuU\x1d93dGVz")
    assert (err.code, err.position) == ("gtin_check_digit", 2 + 3 + 15)


def test_parse_rejects_non_text_with_type_error() -> None:
    with pytest.raises(TypeError):
        parse(b"0104610053149777215d/wuU\x1d93dGVz")  # type: ignore[arg-type]


def test_literal_gs_text_inside_a_value_reads_as_a_separator() -> None:
    # "<GS>" is four CSET 82 characters; we read it as the written-out separator, so a
    # serial that really contains it cannot be typed that way (the real GS byte works).
    code = "0104610053149777215d<GS>wU\x1d93dGVz"
    with pytest.raises(ParseError):
        parse(code)
    assert parse(code.replace("<GS>", "<GX>")).serial == "5d<GX>wU"
