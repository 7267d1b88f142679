"""``Identity``: what an item is, whichever carrier (DataMatrix, EPC, NFC link) told us."""

from __future__ import annotations

import base64
from typing import Final, Literal

from edge_agent.codes.gs1 import GS, needs_separator

Kind = Literal["datamatrix", "tobacco_pack", "sgtin-96", "sgtin-198", "digital_link"]
KINDS: Final[tuple[Kind, ...]] = ("datamatrix", "tobacco_pack", "sgtin-96", "sgtin-198", "digital_link")

# Tag Data Standard escaping of serials in pure identity URIs (TDS table A-1).
_URI_ESCAPES: Final = str.maketrans(
    {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
)


def escape_uri_component(value: str) -> str:
    """Escape a CSET 82 value for an EPC pure identity URI, as the Tag Data Standard does."""
    return value.translate(_URI_ESCAPES)


class EpcFields:
    """The parts of an SGTIN that the GTIN alone does not carry (shared by every serial)."""

    __slots__ = ("company_prefix", "filter", "item_reference")

    def __init__(self, filter: int, company_prefix: str, item_reference: str) -> None:
        self.filter = filter
        self.company_prefix = company_prefix
        #: indicator digit followed by the item reference, as in the URI
        self.item_reference = item_reference

    def to_dict(self) -> dict[str, object]:
        return {
            "filter": self.filter,
            "company_prefix": self.company_prefix,
            "item_reference": self.item_reference,
        }


class Identity:
    """One item: GTIN + serial (the КИ), and the verification part when the carrier had it.

    Built only by the parsers in this package. Immutable by convention; equal when kind,
    GTIN, serial, verification part and extra AIs are equal.
    """

    __slots__ = (
        "attributes",
        "crypto",
        "elements",
        "epc",
        "extra",
        "groups",
        "gtin",
        "kind",
        "layout",
        "pack_tail",
        "qualifiers",
        "raw",
        "separators_inferred",
        "serial",
    )

    def __init__(  # noqa: PLR0913, PLR0917  (built on the parse hot path)
        self,
        kind: Kind,
        gtin: str,
        serial: str,
        layout: str,
        groups: tuple[str, ...] = (),
        elements: tuple[tuple[str, str], ...] = (),
        crypto: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        epc: EpcFields | None = None,
        pack_tail: str | None = None,
        separators_inferred: bool = False,
        raw: str = "",
        qualifiers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.kind: Kind = kind
        self.gtin = gtin
        self.serial = serial
        self.layout = layout
        self.groups = groups
        #: the AIs after the serial, in the order the code carried them
        self.elements = elements
        #: verification part: {"91": .., "92": ..} or {"93": ..}; None when the carrier had none
        self.crypto = crypto
        #: other AIs (240, 3103, 335Y, 8005, 17, 7003)
        self.extra: dict[str, str] = {} if extra is None else extra
        self.epc = epc
        #: tobacco pack only: the 8 characters after the serial (4 price + 4 check)
        self.pack_tail = pack_tail
        #: True when the scanner dropped the GS separators and we placed them by structure
        self.separators_inferred = separators_inferred
        #: the carrier's text as parsed (an EPC's hex digits, a URI, a normalised code)
        self.raw = raw
        #: a Digital Link's key qualifiers before the serial (22 CPV, 10 lot), in GS1's order;
        #: they qualify the GTIN, they are not part of the КИ or the КМ
        self.qualifiers = qualifiers
        #: a Digital Link's data attributes no mark code carries (15 best before, 11, 16, …), as
        #: they came: read and kept, used by nothing here
        self.attributes: tuple[tuple[str, str], ...] = ()

    # -- the identity -------------------------------------------------------------------
    @property
    def ki(self) -> str:
        """КИ: ``01`` + GTIN + ``21`` + serial, the item's key everywhere."""
        return "01" + self.gtin + "21" + self.serial

    @property
    def mark_code(self) -> str | None:
        """The full КМ with GS separators, or None when the carrier had no verification part."""
        if self.kind == "tobacco_pack":
            return self.gtin + self.serial + (self.pack_tail or "")
        if self.crypto is None:
            return None
        parts = ["01", self.gtin, "21", self.serial]
        separate = True  # AI 21 is variable length: a GS must follow it
        for ai, value in self.elements:
            if separate:
                parts.append(GS)
            parts.append(ai)
            parts.append(value)
            separate = needs_separator(ai)  # 8005 and 7003 too: fixed length, yet not predefined
        return "".join(parts)

    @property
    def verification_part(self) -> str | None:
        """What follows the КИ in the КМ (91/92, 93, or the pack's price and check)."""
        if self.kind == "tobacco_pack":
            return self.pack_tail
        if self.crypto is None:
            return None
        return GS.join(ai + value for ai, value in self.crypto.items())

    @property
    def epc_uri(self) -> str | None:
        """EPC pure identity URI (``urn:epc:id:sgtin:...``); known only for EPC carriers."""
        if self.epc is None:
            return None
        return (
            f"urn:epc:id:sgtin:{self.epc.company_prefix}.{self.epc.item_reference}.{escape_uri_component(self.serial)}"
        )

    # -- the forms each verification backend takes --------------------------------------
    @property
    def true_api_code(self) -> str | None:
        """True API ``codes/check``: the full КМ with GS."""
        return self.mark_code

    @property
    def local_module_code(self) -> str:
        """Local Module ``cis/outCheck``: the КИ only (a tobacco pack: its first 21 chars)."""
        if self.kind == "tobacco_pack":
            return self.gtin + self.serial
        return self.ki

    @property
    def ts_piot_code(self) -> str | None:
        """TS PIoT: Base64 of the full КМ."""
        code = self.mark_code
        if code is None:
            return None
        return base64.b64encode(code.encode("ascii")).decode("ascii")

    # -- plumbing -----------------------------------------------------------------------
    def _key(self) -> tuple[object, ...]:
        return (self.kind, self.gtin, self.serial, self.elements, self.pack_tail)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Identity(kind={self.kind!r}, ki={self.ki!r}, layout={self.layout!r})"

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of docs/codes.md (``ok`` included), plus the backend forms."""
        out: dict[str, object] = {
            "ok": True,
            "kind": self.kind,
            "gtin": self.gtin,
            "serial": self.serial,
            "ki": self.ki,
            "layout": self.layout,
            "candidate_groups": list(self.groups),
            "crypto": None if self.crypto is None else dict(self.crypto),
            "extra": dict(self.extra),
            "epc_uri": self.epc_uri,
            "mark_code": self.mark_code,
            "separators_inferred": self.separators_inferred,
            "forms": {
                "true_api": self.true_api_code,
                "local_module": self.local_module_code,
                "ts_piot": self.ts_piot_code,
            },
        }
        if self.epc is not None:
            out["epc"] = {"hex": self.raw.upper(), **self.epc.to_dict()}
        if self.pack_tail is not None:
            out["pack"] = {"mrp": self.pack_tail[:4], "check": self.pack_tail[4:]}
        if self.qualifiers:
            out["qualifiers"] = dict(self.qualifiers)
        return out
