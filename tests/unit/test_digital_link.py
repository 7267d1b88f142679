"""GS1 Digital Link: parse what an NFC tag or a phone hands us, build what we write."""

from __future__ import annotations

import pytest

from edge_agent.codes import ParseError, build_digital_link, identity_link, parse

LP_44 = "0104669000322220215t*NH>t:ngCfH\x1d91FFD0\x1d92dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9GhckDf8JE="


def test_link_with_path_prefix_gtin13_and_encoded_serial() -> None:
    item = parse("HTTPS://Shop.Example/p/01/4610053149777/21/5d%2FwuU?linkType=gs1:pip&93=dGVz#top")
    assert (item.kind, item.gtin, item.serial) == ("digital_link", "04610053149777", "5d/wuU")
    assert item.crypto == {"93": "dGVz"}


def test_link_carrying_91_92_gives_the_full_mark_code() -> None:
    item = parse(LP_44)
    uri = identity_link(item, "https://id.example")
    assert "+" not in uri.split("?")[1]  # Base64 '+' is percent-encoded, never sent raw
    back = parse(uri)
    assert back.mark_code == LP_44
    assert back.ki == item.ki


def test_raw_plus_in_92_is_kept_not_turned_into_space() -> None:
    uri = "https://x/01/04669000322220/21/5t*NH%3Et:ngCfH?91=FFD0&92=dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9Ghck+f8JE="
    assert parse(uri).crypto == {"91": "FFD0", "92": "dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9Ghck+f8JE="}


def test_link_without_verification_part_still_identifies_the_item() -> None:
    item = parse("https://x/01/04610053149777/21/5d%2FwuU")
    assert item.crypto is None and item.mark_code is None
    assert item.ki == "0104610053149777215d/wuU"


def test_build_percent_encodes_every_reserved_character() -> None:
    uri = build_digital_link("04669000322220", "5t*NH>t:ngCfH", base="https://id.example/")
    assert uri == "https://id.example/01/04669000322220/21/5t%2ANH%3Et%3AngCfH"
    assert parse(uri).serial == "5t*NH>t:ngCfH"


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("https://x", "invalid_uri"),
        ("https://x/01/04610053149777", "invalid_uri"),
        ("https://x/gtin/04610053149777/21/abc", "invalid_uri"),
        ("https://x/01/04610053149777/21/abc/22/x", "invalid_uri"),
        ("https://x/01/04610053149/21/abc", "invalid_uri"),
        ("https://x/01/04610053149778/21/abc", "gtin_check_digit"),
        ("https://x/01/04610053149777/21/a%20b", "invalid_character"),
        ("https://x/01/04610053149777/21/", "bad_length"),
        ("https://x/01/04610053149777/21/abc?93=dG", "bad_length"),
        ("https://x/01/04610053149777/21/abc?93=dGVz&93=dGVz", "duplicate_ai"),
        ("https://x/01/04610053149777/21/abc?10=LOT1", "unknown_ai"),
        ("https://x/01/04610053149777/21/abc?3103=12", "bad_length"),
        ("https://x/01/04610053149777/21/abc?91=FFD0", "truncated"),
        ("ftp://x/01/04610053149777/21/abc", "unknown_layout"),
        ("http:/x", "invalid_uri"),
    ],
)
def test_bad_link_gives_typed_error(uri: str, code: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(uri)
    assert info.value.code == code, info.value.message


def test_percent_encoding_that_is_not_utf8_is_a_typed_error() -> None:
    # found by the property tests: urllib raised UnicodeDecodeError here
    with pytest.raises(ParseError) as info:
        parse("http://shop.example/01/04610053149777/21/5d%AFwuU?93=dGVz")
    assert info.value.code == "invalid_uri"


def test_key_qualifiers_22_and_10_before_the_serial_parse_and_build() -> None:
    from edge_agent.codes.digital_link import build_digital_link, identity_link, parse_digital_link

    uri = "https://id.gs1.org/01/04610053149777/22/2A/10/LOT%2F7/21/5d%2FwuU?93=dGVz"
    item = parse_digital_link(uri)
    assert item.ki == "0104610053149777215d/wuU" and item.qualifiers == (("22", "2A"), ("10", "LOT/7"))
    assert item.to_dict()["qualifiers"] == {"22": "2A", "10": "LOT/7"} and item.crypto == {"93": "dGVz"}
    assert identity_link(item, "https://id.gs1.org") == uri  # built back as it came
    assert parse_digital_link("https://x.example/01/04610053149777/10/L1/21/S1").qualifiers == (("10", "L1"),)
    assert build_digital_link("04610053149777", "S1", qualifiers={"10": "L1", "22": "C"}).endswith(
        "/01/04610053149777/22/C/10/L1/21/S1"
    )  # GS1's order whatever the caller's


@pytest.mark.parametrize(
    "path",
    [
        "/01/04610053149777/10/L1/22/C/21/S1",  # out of order
        "/01/04610053149777/22/C/22/D/21/S1",  # twice
        "/01/04610053149777/235/T/21/S1",  # 235 is the alternative to 21
        "/01/04610053149777/22/C",  # no serial: not one item
        "/01/04610053149777/21/S1/10/L1",
    ],
)
def test_qualifiers_out_of_gs1_order_or_after_the_serial_are_refused(path: str) -> None:
    from edge_agent.codes import ParseError
    from edge_agent.codes.digital_link import parse_digital_link

    with pytest.raises(ParseError) as e:
        parse_digital_link("https://id.gs1.org" + path)
    assert e.value.code == "invalid_uri"


def test_data_attributes_the_lane_does_not_use_are_read_and_kept() -> None:
    """A valid link may carry any GS1 data attribute (best before, production date, sell by):
    the GS1 syntax engine accepts them, so the phone page must show the item, not refuse it."""
    link = "https://x/01/04610053149777/21/abc?15=261231&93=dGVz&11=261101&16=261224&linkType=gs1:pip"
    identity = parse(link)
    assert (identity.gtin, identity.serial, identity.crypto) == ("04610053149777", "abc", {"93": "dGVz"})
    assert identity.attributes == (("15", "261231"), ("11", "261101"), ("16", "261224"))


@pytest.mark.parametrize(
    ("link", "code"),
    [
        ("https://x/01/04610053149777/21/abc?15=2612", "bad_length"),  # best before is YYMMDD
        ("https://x/01/04610053149777/21/abc?15=26123X", "bad_length"),
        ("https://x/01/04610053149777/21/abc?15=261231&15=261231", "duplicate_ai"),
        ("https://x/01/04610053149777/21/abc?9876=1", "unknown_ai"),  # not in the GS1 dictionary
        ("https://x/01/04610053149777/21/abc?22=V1", "unknown_ai"),  # a key qualifier goes in the path
        ("https://x/01/04610053149777/21/abc?414=4610053000005", "unknown_ai"),  # another primary key
    ],
)
def test_a_bad_data_attribute_is_still_a_clear_error(link: str, code: str) -> None:
    with pytest.raises(ParseError) as e:
        parse(link)
    assert e.value.code == code
