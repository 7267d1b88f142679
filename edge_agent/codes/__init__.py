"""The identity layer: which item is this?

Pure functions, no I/O. Every carrier (a DataMatrix mark code, a UHF EPC, an NFC tag's
GS1 Digital Link) resolves to one :class:`Identity` keyed by the КИ (GTIN + serial).

>>> parse("0104610053149777215d/wuU\\x1d93dGVz").ki
'0104610053149777215d/wuU'
"""

from edge_agent.codes.digital_link import build_digital_link, identity_link, parse_digital_link
from edge_agent.codes.epc import decode_sgtin96, decode_sgtin198, encode_sgtin96, encode_sgtin198
from edge_agent.codes.errors import ERROR_CODES, CodeError, EncodeError, ParseError
from edge_agent.codes.gs1 import CSET82, GS, check_digit, gtin_is_valid
from edge_agent.codes.identity import KINDS, EpcFields, Identity, Kind
from edge_agent.codes.parser import parse

__all__ = [
    "CSET82",
    "ERROR_CODES",
    "GS",
    "KINDS",
    "CodeError",
    "EncodeError",
    "EpcFields",
    "Identity",
    "Kind",
    "ParseError",
    "build_digital_link",
    "check_digit",
    "decode_sgtin96",
    "decode_sgtin198",
    "encode_sgtin96",
    "encode_sgtin198",
    "gtin_is_valid",
    "identity_link",
    "parse",
    "parse_digital_link",
]
