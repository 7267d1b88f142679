"""ЕГАИС's retail cheque for the store's УТМ, and the УТМ's answer: pure.

Two forms (law-2026.md §4, after open POS code): the legacy ``<Cheque>`` with a ``<Bottle
price barcode ean volume/>`` per stamp, posted to ``/xml``; and ``ChequeV3`` (``?type=ChequeV3``)
with ``ck:Header{Date, Kassa, Shift, Number, Type}`` and ``ck:Bottle{Barcode, EAN, Price}``. A
return is the same cheque with negative prices (and ``Type`` Возврат). The УТМ answers
``<A><url>…</url><sign>…</sign><ver>2</ver></A>``; the url goes on the receipt as a QR, the
sign printed; an error is ``<A><error>…</error></A>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from edge_agent.errors import EdgeError

Form = Literal["ChequeV3", "Cheque"]
MAX_ANSWER: Final = 64 * 1024
NS: Final = {
    "ns": "http://fsrar.ru/WEGAIS/WB_DOC_SINGLE_01",
    "ck": "http://fsrar.ru/WEGAIS/ChequeV3",
}


class UtmRefused(EdgeError):
    """The УТМ answered with an error: ЕГАИС does not accept the sale (``code`` ``refused``)."""


class UtmAnswerError(EdgeError):
    """The УТМ's answer is not one (``bad_answer``): the outcome is unknown."""


@dataclass(frozen=True, slots=True)
class Bottle:
    stamp: str  # the excise stamp's PDF417 text
    ean: str  # the bottle's EAN-13
    price: int  # kopecks; negative in a return
    volume_ml: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Cheque:
    kind: Literal["sale", "return"]
    inn: str
    kpp: str
    name: str
    address: str
    kassa: str
    shift: int
    number: int
    at: datetime  # the store's local time (what ЕГАИС and people read)
    bottles: tuple[Bottle, ...]


@dataclass(frozen=True, slots=True)
class UtmAnswer:
    url: str  # the receipt's QR
    sign: str  # printed on the receipt in groups of four

    @property
    def printed_sign(self) -> str:
        return " ".join(self.sign[i : i + 4] for i in range(0, len(self.sign), 4))


def ean13(gtin: str) -> str:
    """A GTIN-14 of a bottle (leading 0) as the EAN-13 ЕГАИС names it."""
    return gtin[1:] if len(gtin) == 14 and gtin.startswith("0") else gtin


def _rub(kop: int) -> str:
    sign = "-" if kop < 0 else ""
    return f"{sign}{abs(kop) // 100}.{abs(kop) % 100:02d}"


def cheque_xml(cheque: Cheque, form: Form) -> bytes:
    if not cheque.bottles:
        raise ValueError("a cheque needs at least one bottle")
    if form == "Cheque":
        root = ET.Element(
            "Cheque",
            inn=cheque.inn,
            kpp=cheque.kpp,
            address=cheque.address,
            name=cheque.name,
            kassa=cheque.kassa,
            shift=str(cheque.shift),
            number=str(cheque.number),
            datetime=cheque.at.strftime("%d%m%y%H%M"),
        )
        for b in cheque.bottles:
            ET.SubElement(
                root, "Bottle", price=_rub(b.price), barcode=b.stamp, ean=b.ean, volume=f"{b.volume_ml / 1000:.4f}"
            )
    else:
        ET.register_namespace("ns", NS["ns"])
        ET.register_namespace("ck", NS["ck"])
        root = ET.Element(f"{{{NS['ns']}}}Documents", Version="1.0")
        owner = ET.SubElement(root, f"{{{NS['ns']}}}Owner")
        ET.SubElement(owner, f"{{{NS['ns']}}}INN").text = cheque.inn
        doc = ET.SubElement(ET.SubElement(root, f"{{{NS['ns']}}}Document"), f"{{{NS['ns']}}}ChequeV3")
        header = ET.SubElement(doc, f"{{{NS['ck']}}}Header")
        for tag, text in (
            ("Date", cheque.at.strftime("%Y-%m-%dT%H:%M:%S")),
            ("Kassa", cheque.kassa),
            ("Shift", str(cheque.shift)),
            ("Number", str(cheque.number)),
            ("Type", "Продажа" if cheque.kind == "sale" else "Возврат"),
        ):
            ET.SubElement(header, f"{{{NS['ck']}}}{tag}").text = text
        content = ET.SubElement(doc, f"{{{NS['ck']}}}Content")
        for b in cheque.bottles:
            bottle = ET.SubElement(content, f"{{{NS['ck']}}}Bottle")
            ET.SubElement(bottle, f"{{{NS['ck']}}}Barcode").text = b.stamp
            ET.SubElement(bottle, f"{{{NS['ck']}}}EAN").text = b.ean
            ET.SubElement(bottle, f"{{{NS['ck']}}}Price").text = _rub(b.price)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def read_answer(body: bytes) -> UtmAnswer:
    """The УТМ's answer: its url and sign; ``UtmRefused`` for an error it answered;
    ``UtmAnswerError`` for anything else (too long, not XML, neither url nor error)."""
    if len(body) > MAX_ANSWER:
        raise UtmAnswerError("bad_answer", f"an answer of {len(body)} bytes")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise UtmAnswerError("bad_answer", f"not XML: {e}") from None
    if root.tag != "A":
        raise UtmAnswerError("bad_answer", f"the answer's root is <{root.tag[:40]}>, not <A>")
    error = root.findtext("error")
    if error is not None:
        raise UtmRefused("refused", error.strip()[:500] or "refused without a reason")
    url, sign = (root.findtext("url") or "").strip(), (root.findtext("sign") or "").strip()
    if not url.startswith(("http://", "https://")) or not sign or len(url) > 1000 or len(sign) > 1000:
        raise UtmAnswerError("bad_answer", "an answer without a url and a sign")
    return UtmAnswer(url, sign)


def read_cheque(xml: bytes) -> tuple[Cheque, Form]:
    """A cheque this lane wrote, read back (a sale undone by a return cheque of the same bottles)."""
    root = ET.fromstring(xml)
    if root.tag == "Cheque":
        a = root.attrib
        bottles = tuple(
            Bottle(
                b.get("barcode", ""),
                b.get("ean", ""),
                _kop(b.get("price", "0")),
                round(float(b.get("volume", "0")) * 1000),
            )
            for b in root.findall("Bottle")
        )
        at = datetime.strptime(a["datetime"], "%d%m%y%H%M")
        kind: Literal["sale", "return"] = "return" if bottles and bottles[0].price < 0 else "sale"
        cheque = Cheque(
            kind=kind,
            inn=a["inn"],
            kpp=a["kpp"],
            name=a["name"],
            address=a["address"],
            kassa=a["kassa"],
            shift=int(a["shift"]),
            number=int(a["number"]),
            at=at,
            bottles=bottles,
        )
        return cheque, "Cheque"
    ck = f"{{{NS['ck']}}}"
    header = root.find(f".//{ck}Header")
    owner = root.findtext(f".//{{{NS['ns']}}}INN") or ""
    if header is None:
        raise ValueError("a ChequeV3 without its header")
    bottles = tuple(
        Bottle(b.findtext(f"{ck}Barcode") or "", b.findtext(f"{ck}EAN") or "", _kop(b.findtext(f"{ck}Price") or "0"))
        for b in root.iter(f"{ck}Bottle")
    )
    cheque = Cheque(
        kind="sale" if header.findtext(f"{ck}Type") == "Продажа" else "return",
        inn=owner,
        kpp="",
        name="",
        address="",
        kassa=header.findtext(f"{ck}Kassa") or "",
        shift=int(header.findtext(f"{ck}Shift") or 0),
        number=int(header.findtext(f"{ck}Number") or 0),
        at=datetime.fromisoformat(header.findtext(f"{ck}Date") or "2000-01-01T00:00:00"),
        bottles=bottles,
    )
    return cheque, "ChequeV3"


def _kop(rub: str) -> int:
    sign = -1 if rub.startswith("-") else 1
    whole, _, frac = rub.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))


def negated(xml: bytes, number: int, at: datetime) -> bytes:
    """The return cheque undoing a sale cheque: the same store, till and bottles, negative prices."""
    sale, form = read_cheque(xml)
    bottles = tuple(Bottle(b.stamp, b.ean, -abs(b.price), b.volume_ml) for b in sale.bottles)
    ret = Cheque(
        kind="return",
        inn=sale.inn,
        kpp=sale.kpp,
        name=sale.name,
        address=sale.address,
        kassa=sale.kassa,
        shift=sale.shift,
        number=number,
        at=at,
        bottles=bottles,
    )
    return cheque_xml(ret, form)


def bottles_of(lines: Sequence[tuple[str, str, int, int]], sign: int = 1) -> tuple[Bottle, ...]:
    """(stamp, gtin, price, volume) per stamped line as the cheque's bottles (``sign`` -1: a return)."""
    return tuple(Bottle(stamp, ean13(gtin), sign * price, volume) for stamp, gtin, price, volume in lines)
