"""GS1 Digital Link URIs for serialised items:
``https://<host>/01/<gtin>[/22/<cpv>][/10/<lot>]/21/<serial>[?93=..]``.

Syntax per the GS1 Digital Link standard (URI syntax 1.2): the primary key ``01`` may be
preceded by any path prefix, GTIN-8/12/13 are padded to 14 digits, the key qualifiers come in
the order the GS1 Barcode Syntax Dictionary gives for 01 (``dlpkey=22,10,21``: each optional,
in that order; a single item ends with 21), values are percent-encoded, and data attributes
such as the verification part ride in the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import quote, unquote

from edge_agent.codes.ai_table import AI_TABLE
from edge_agent.codes.errors import EncodeError, ParseError
from edge_agent.codes.gs1 import FIXED_AIS, VARIABLE_AIS, check_gtin, first_non_cset82, gtin_is_valid, is_cset82
from edge_agent.codes.identity import Identity
from edge_agent.codes.markcode import check_value, identity_from_elements

_SCHEMES: Final = ("http://", "https://")
#: 01's key qualifiers, in order, from the dictionary: 22 (CPV), 10 (lot), 21 (serial)
QUALIFIERS: Final = AI_TABLE["01"][4][0]
# AIs a mark code may carry as data attributes, in the order a КМ lists them.
_ATTRIBUTE_ORDER: Final = (
    "240",
    "91",
    "92",
    "93",
    "3100",
    "3101",
    "3102",
    "3103",
    "3104",
    "3105",
    "3350",
    "3351",
    "3352",
    "3353",
    "3354",
    "3355",
    "8005",
    "17",
    "7003",
)


def is_digital_link(text: str) -> bool:
    return text[:8].lower().startswith(_SCHEMES)


def parse_digital_link(uri: str) -> Identity:
    """Parse a Digital Link URI of one serialised item."""
    lower = uri[:8].lower()
    if not lower.startswith(_SCHEMES):
        raise ParseError("invalid_uri", "a Digital Link starts with http:// or https://", 0)
    start = uri.find("/", len("https://") if lower.startswith("https") else len("http://"))
    if start < 0:
        raise ParseError("invalid_uri", "the URI has no path: /01/<gtin>/21/<serial> expected", len(uri))
    end = len(uri)
    for stop in ("#", "?"):
        i = uri.find(stop, start)
        if 0 <= i < end:
            end = i
    path = uri[start:end]
    key = path.find("/01/")
    if key < 0:
        raise ParseError("invalid_uri", "no /01/<gtin> in the path", start)
    parts = path[key + 1 :].split("/")
    pos = start + key + 4  # where the GTIN starts
    if len(parts) < 4 or len(parts) % 2:
        raise ParseError("invalid_uri", "the path needs /01/<gtin>/21/<serial> for one item", pos)
    pairs = [(parts[i], parts[i + 1]) for i in range(2, len(parts), 2)]
    names = [name for name, _ in pairs]
    if names[-1] != "21":
        raise ParseError("invalid_uri", "the path needs /01/<gtin>/21/<serial> for one item", pos)
    order = [QUALIFIERS.index(n) if n in QUALIFIERS else -1 for n in names]
    if -1 in order or order != sorted(set(order)):
        raise ParseError(
            "invalid_uri",
            "key qualifiers of 01 are /22/<cpv>/10/<lot>/21/<serial>, each at most once and in that order",
            pos,
        )
    gtin = parts[1]
    if len(gtin) not in (8, 12, 13, 14) or not (gtin.isascii() and gtin.isdigit()):
        raise ParseError("invalid_uri", "the GTIN in a Digital Link is 8, 12, 13 or 14 digits", pos)
    gtin = gtin.zfill(14)
    check_gtin(gtin, pos - (14 - len(parts[1])))
    pos += len(parts[1])  # at the "/" before the next AI
    qualifiers = []
    for name, raw in pairs[:-1]:
        pos += len(name) + 2
        value = _unquote(raw, pos)
        if not 1 <= len(value) <= AI_TABLE[name][2] or not is_cset82(value):
            raise ParseError("bad_length", f"AI {name} is 1 to {AI_TABLE[name][2]} CSET 82 characters", pos)
        qualifiers.append((name, value))
        pos += len(raw)
    pos += 4
    raw_serial = pairs[-1][1]
    serial = _unquote(raw_serial, pos) if "%" in raw_serial else raw_serial
    if not serial or len(serial) > VARIABLE_AIS["21"]:
        raise ParseError("bad_length", "the serial is 1 to 20 characters", pos)
    bad = first_non_cset82(serial)
    if bad >= 0:
        raise ParseError("invalid_character", f"{serial[bad]!r} is not in GS1 character set 82", pos)
    elements, others = _attributes(uri, end)
    identity = identity_from_elements("digital_link", gtin, serial, elements=elements, end=len(uri))
    identity.qualifiers = tuple(qualifiers)
    identity.attributes = tuple(others)
    return identity


def _unquote(value: str, position: int) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise ParseError("invalid_uri", f"percent-encoding in {value!r} is not UTF-8", position) from None


def _attributes(uri: str, path_end: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The query's GS1 data attributes: those a mark code carries (checked as the КМ's), in a
    КМ's order; and any other attribute the GS1 dictionary has (15 best before, 11, 16, …),
    checked against the dictionary and kept as they came. A key (01, 21) or key qualifier
    (22, 10) belongs in the path, and an AI the dictionary does not have is refused."""
    if path_end >= len(uri) or uri[path_end] != "?":
        return [], []
    query_end = uri.find("#", path_end)
    query = uri[path_end + 1 : query_end if query_end >= 0 else len(uri)]
    found: dict[str, str] = {}
    others: list[tuple[str, str]] = []
    pos = path_end + 1
    for pair in query.split("&"):
        name, _, raw = pair.partition("=")
        if name.isascii() and name.isdigit():  # a GS1 AI; other keys (linkType, ...) are not ours
            if name not in AI_TABLE or name in QUALIFIERS or name == "01" or AI_TABLE[name][4]:
                raise ParseError("unknown_ai", f"AI {name} is not a data attribute of a Digital Link", pos)
            if name in found or any(ai == name for ai, _ in others):
                raise ParseError("duplicate_ai", f"AI {name} appears twice", pos)
            value = _unquote(raw, pos)  # not unquote_plus: '+' is Base64 in AI 92
            if not is_cset82(value):
                raise ParseError("invalid_character", f"AI {name} has characters outside CSET 82", pos)
            if name in FIXED_AIS:
                if len(value) != FIXED_AIS[name] or not value.isdigit():
                    raise ParseError("bad_length", f"AI {name} takes {FIXED_AIS[name]} digits", pos)
                found[name] = value
            elif name in VARIABLE_AIS:
                check_value(name, value, pos)
                found[name] = value
            else:
                _, low, high, sets, _, title = AI_TABLE[name]
                if not low <= len(value) <= high or (set(sets) == {"N"} and not value.isdigit()):
                    kind = "digits" if set(sets) == {"N"} else "characters"
                    raise ParseError("bad_length", f"AI {name} ({title}) takes {low} to {high} {kind}", pos)
                others.append((name, value))
        pos += len(pair) + 1
    return [(ai, found[ai]) for ai in _ATTRIBUTE_ORDER if ai in found], others


def build_digital_link(
    gtin: str,
    serial: str,
    *,
    base: str = "https://id.gs1.org",
    attributes: Mapping[str, str] | None = None,
    qualifiers: Mapping[str, str] | None = None,
) -> str:
    """The Digital Link URI of one item; ``qualifiers`` (22, 10) go in the path before the
    serial in GS1's order, ``attributes`` (e.g. the 93 code) in the query."""
    if not gtin_is_valid(gtin):
        raise EncodeError("gtin_check_digit", f"{gtin!r} is not a valid GTIN-14")
    if not 1 <= len(serial) <= 20 or not is_cset82(serial):
        raise EncodeError("invalid_character", f"{serial!r} is not a 1-20 character CSET 82 serial")
    if not base.lower().startswith(_SCHEMES):
        raise EncodeError("invalid_uri", f"{base!r} is not an http(s) base URI")
    path = ""
    for name, value in (qualifiers or {}).items():
        if name not in QUALIFIERS[:-1] or not 1 <= len(value) <= AI_TABLE[name][2] or not is_cset82(value):
            raise EncodeError("invalid_qualifier", f"{name}={value!r} is not a 22 or 10 qualifier of a GTIN")
    for name in QUALIFIERS[:-1]:
        if qualifiers and name in qualifiers:
            path += f"/{name}/{quote(qualifiers[name], safe='')}"
    uri = f"{base.rstrip('/')}/01/{gtin}{path}/21/{quote(serial, safe='')}"
    if attributes:
        uri += "?" + "&".join(f"{ai}={quote(value, safe='')}" for ai, value in attributes.items())
    return uri


def identity_link(identity: Identity, base: str, with_verification: bool = True) -> str:
    """The Digital Link of an Identity, carrying its verification part unless told not to."""
    attributes = dict(identity.elements) if with_verification else None
    return build_digital_link(
        identity.gtin, identity.serial, base=base, attributes=attributes, qualifiers=dict(identity.qualifiers)
    )
