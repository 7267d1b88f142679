"""EPC Tag Data Standard: SGTIN-96 and SGTIN-198, decode and encode.

Bit layouts from GS1 EPC Tag Data Standard (TDS) §14.5.1-14.5.2; the partition table is
TDS table 14-2. Readers deliver SGTIN-198 as whole 16-bit words: 52 hex digits (some
deliver 50); the 198 bits are the most significant ones.

A reader reports the same few hundred products over and over with different serials, so
the GTIN half of a decode is memoised per (header, filter, partition, prefix, item) value
in a bounded table; the serial half is decoded every time.
"""

from __future__ import annotations

from typing import Final

from edge_agent.codes.errors import EncodeError, ParseError
from edge_agent.codes.gs1 import CSET82, check_digit, gtin_is_valid, is_cset82
from edge_agent.codes.identity import EpcFields, Identity

SGTIN96_HEADER: Final = 0x30
SGTIN198_HEADER: Final = 0x36
FILTER_POS_ITEM: Final = 1  # "Point of Sale (POS) Trade Item"

# partition -> (company prefix bits, digits, item reference bits, digits)
_PARTITIONS: Final = (
    (40, 12, 4, 1),
    (37, 11, 7, 2),
    (34, 10, 10, 3),
    (30, 9, 14, 4),
    (27, 8, 17, 5),
    (24, 7, 20, 6),
    (20, 6, 24, 7),
)
_POW10: Final = tuple(10**i for i in range(13))
_SERIAL96_MAX: Final = (1 << 38) - 1
_MASK44: Final = (1 << 44) - 1
# Two 7-bit characters per 14-bit chunk: ten look-ups decode a 20-character serial.
# A character outside CSET 82 (other than the NUL padding) decodes as DEL, which is
# outside CSET 82 too, so one substring test finds any bad character.
_DEL: Final = "\x7f"
_CHARS7: Final = tuple(chr(c) if c == 0 or chr(c) in CSET82 else _DEL for c in range(128))
_PAIRS: Final = tuple(_CHARS7[x >> 7] + _CHARS7[x & 0x7F] for x in range(1 << 14))

_TOP_CACHE_SIZE: Final = 1 << 16
# top 58 bits -> (GTIN, fields); the key holds the header, so one table serves both schemes
_top_cache: dict[int, tuple[str, EpcFields]] = {}


def _gtin_part(top: int, header: int) -> tuple[str, EpcFields]:
    """GTIN-14 and EPC fields from the top 58 bits: header(8) filter(3) partition(3) 44 bits."""
    if top >> 50 != header:
        scheme = "SGTIN-96" if header == SGTIN96_HEADER else "SGTIN-198"
        raise ParseError("unsupported_epc", f"EPC header 0x{top >> 50:02X} is not {scheme}", 0)
    hit = _top_cache.get(top)
    if hit is not None:
        return hit
    partition = (top >> 44) & 7
    if partition > 6:
        raise ParseError("invalid_epc", f"EPC partition {partition} is not defined", 3)
    _, cp_digits, ir_bits, ir_digits = _PARTITIONS[partition]
    both = top & _MASK44
    company = both >> ir_bits
    item = both & ((1 << ir_bits) - 1)
    if company >= _POW10[cp_digits] or item >= _POW10[ir_digits]:
        raise ParseError("invalid_epc", "EPC company prefix or item reference out of range", 3)
    cp = str(company).zfill(cp_digits)
    ir = str(item).zfill(ir_digits)
    body = ir[0] + cp + ir[1:]
    hit = (body + str(check_digit(body)), EpcFields((top >> 47) & 7, cp, ir))
    if len(_top_cache) >= _TOP_CACHE_SIZE:
        _top_cache.clear()
    _top_cache[top] = hit
    return hit


def _not_hex(hex_: str) -> ParseError:
    bad = next((i for i, c in enumerate(hex_) if c not in "0123456789abcdefABCDEF"), 0)
    return ParseError("invalid_epc", f"an EPC is hexadecimal digits, found {hex_[bad]!r}", bad)


def decode_sgtin96(hex_: str) -> Identity:
    """An SGTIN-96 EPC (24 hex digits) as an Identity."""
    if len(hex_) != 24:
        raise ParseError("invalid_epc", f"SGTIN-96 is 24 hex digits, found {len(hex_)}", 0)
    # isascii + isalnum first: int() alone would accept "_", Unicode digits and whitespace
    try:
        if not (hex_.isascii() and hex_.isalnum()):
            raise ValueError
        v = int(hex_, 16)
    except ValueError:
        raise _not_hex(hex_) from None
    gtin, fields = _gtin_part(v >> 38, SGTIN96_HEADER)
    serial = str(v & _SERIAL96_MAX)
    return Identity("sgtin-96", gtin, serial, "sgtin-96", (), (), None, None, fields, None, False, hex_)


def decode_sgtin198(hex_: str) -> Identity:
    """An SGTIN-198 EPC (50 or 52 hex digits) as an Identity."""
    n = len(hex_)
    if n not in (50, 52):
        raise ParseError("invalid_epc", f"SGTIN-198 is 50 or 52 hex digits, found {n}", 0)
    try:
        if not (hex_.isascii() and hex_.isalnum()):
            raise ValueError
        v = int(hex_, 16) >> (4 * n - 198)
    except ValueError:
        raise _not_hex(hex_) from None
    gtin, fields = _gtin_part(v >> 140, SGTIN198_HEADER)
    p, m = _PAIRS, 0x3FFF
    serial = "".join(
        [
            p[v >> 126 & m],
            p[v >> 112 & m],
            p[v >> 98 & m],
            p[v >> 84 & m],
            p[v >> 70 & m],
            p[v >> 56 & m],
            p[v >> 42 & m],
            p[v >> 28 & m],
            p[v >> 14 & m],
            p[v & m],
        ]
    ).rstrip("\0")
    if not serial or _DEL in serial or "\0" in serial:
        raise ParseError("invalid_epc", _bad_serial198(serial), 14)
    return Identity("sgtin-198", gtin, serial, "sgtin-198", (), (), None, None, fields, None, False, hex_)


def _bad_serial198(serial: str) -> str:
    if not serial:
        return "SGTIN-198 serial is empty"
    bad = next(i for i, c in enumerate(serial) if c in (_DEL, "\0"))
    what = "NUL" if serial[bad] == "\0" else "a character outside GS1 CSET 82"
    return f"SGTIN-198 serial character {bad + 1} is {what}"


def _check_parts(gtin: str, company_prefix_length: int, filter_: int) -> int:
    if not gtin_is_valid(gtin):
        raise EncodeError("gtin_check_digit", f"{gtin!r} is not a valid GTIN-14")
    if not 6 <= company_prefix_length <= 12:
        raise EncodeError("invalid_epc", "a GS1 company prefix has 6 to 12 digits")
    if not 0 <= filter_ <= 7:
        raise EncodeError("invalid_epc", "the EPC filter value is 0 to 7")
    return 12 - company_prefix_length


def _top_bits(header: int, gtin: str, company_prefix_length: int, filter_: int) -> int:
    partition = _check_parts(gtin, company_prefix_length, filter_)
    cp_bits, cp_digits, ir_bits, _ = _PARTITIONS[partition]
    company = int(gtin[1 : 1 + cp_digits])
    item = int(gtin[0] + gtin[1 + cp_digits : 13])
    return (((((header << 3) | filter_) << 3 | partition) << cp_bits | company) << ir_bits) | item


def encode_sgtin96(gtin: str, serial: str, company_prefix_length: int, filter_: int = FILTER_POS_ITEM) -> str:
    """SGTIN-96 as 24 upper-case hex digits. The serial must be a number below 2**38
    written without leading zeros (TDS §14.5.1)."""
    if not (serial.isascii() and serial.isdigit()) or (len(serial) > 1 and serial[0] == "0"):
        raise EncodeError("invalid_epc", f"SGTIN-96 takes a decimal serial without leading zeros, not {serial!r}")
    number = int(serial)
    if number > _SERIAL96_MAX:
        raise EncodeError("invalid_epc", f"serial {serial} does not fit 38 bits: use SGTIN-198")
    v = _top_bits(SGTIN96_HEADER, gtin, company_prefix_length, filter_) << 38 | number
    return f"{v:024X}"


def encode_sgtin198(
    gtin: str,
    serial: str,
    company_prefix_length: int,
    *,
    filter_: int = FILTER_POS_ITEM,
    hex_digits: int = 52,
) -> str:
    """SGTIN-198 as 52 (whole 16-bit words, the default) or 50 upper-case hex digits."""
    if not 1 <= len(serial) <= 20 or not is_cset82(serial):
        raise EncodeError("invalid_epc", f"SGTIN-198 takes 1-20 GS1 CSET 82 characters, not {serial!r}")
    if hex_digits not in (50, 52):
        raise EncodeError("invalid_epc", "SGTIN-198 is written as 50 or 52 hex digits")
    v = _top_bits(SGTIN198_HEADER, gtin, company_prefix_length, filter_)
    for c in serial.ljust(20, "\0"):
        v = v << 7 | ord(c)
    v <<= 4 * hex_digits - 198
    return f"{v:0{hex_digits}X}"
