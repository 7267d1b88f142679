"""The store's УТМ (ЕГАИС's transport module), simulated over its HTTP/XML protocol.

``POST /xml`` (multipart, the cheque in field ``xml_file``; ``?type=ChequeV3`` for the current
form) answers ``<A><url>…</url><sign>…</sign><ver>2</ver></A>``, or ``<A><error>…</error></A>``
for a cheque ЕГАИС refuses: a malformed one, a stamp that is not a stamp, a bottle already sold
(or, in a return, one not sold). A cheque it has already accepted (the same till, number and
bottles) is answered as the first time, so a till that lost the answer may send it again. Its
own XML reading, not the agent's (a bug on one side is not hidden by the other).
``behaviour`` makes it slow, hang, fail or drop connections like a remote service.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from sim.crpt import Behaviour
from sim.http import Drop, JsonServer, Request, Response

STAMP = re.compile(r"^[0-9A-Z]{68}$|^[0-9A-Z]{150}$")
PRICE = re.compile(r"^-?\d+\.\d{2}$")
CK = "{http://fsrar.ru/WEGAIS/ChequeV3}"


class Bad(Exception):
    """The cheque is refused: the УТМ's error text."""


@dataclass
class Accepted:
    key: str
    digest: str
    kind: str  # sale / return
    stamps: tuple[str, ...]
    url: str
    sign: str
    prices: tuple[str, ...] = ()
    form: str = "Cheque"


@dataclass
class UtmSim:
    host: str = "127.0.0.1"
    port: int = 0
    behaviour: Behaviour = field(default_factory=Behaviour)
    refuse: str | None = None  # refuse every cheque with this text (ЕГАИС says no)
    sold: set[str] = field(default_factory=set)  # stamps sold and not returned
    cheques: list[Accepted] = field(default_factory=list)  # every cheque accepted, once each
    refused: list[str] = field(default_factory=list)
    posts: int = 0
    #: take the next cheques, then drop the connection without answering (the till learns nothing)
    drop_after_take: int = 0

    def __post_init__(self) -> None:
        self.server = JsonServer(self._handle, self.host, self.port)
        self._by_key: dict[str, Accepted] = {}

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> UtmSim:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> UtmSim:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def sales(self) -> list[Accepted]:
        return [c for c in self.cheques if c.kind == "sale"]

    async def _handle(self, req: Request) -> Response:
        if (fault := await self.behaviour.apply()) is not None:
            return fault
        if req.method != "POST" or req.path != "/xml":
            return Response(404, b"<A><error>not found</error></A>")
        self.posts += 1
        try:
            xml = _xml_file(req)
            accepted = self._take(xml, "ChequeV3" if "type=ChequeV3" in req.query else "Cheque")
        except Bad as e:
            self.refused.append(str(e))
            return Response(200, f"<A><error>{_esc(str(e))}</error><ver>2</ver></A>".encode())
        if self.drop_after_take:
            self.drop_after_take -= 1
            raise Drop
        return Response(200, f"<A><url>{_esc(accepted.url)}</url><sign>{accepted.sign}</sign><ver>2</ver></A>".encode())

    def _take(self, xml: bytes, form: str) -> Accepted:
        kind, key, stamps, prices = _read(xml, form)
        digest = hashlib.sha256(xml.split(b"?>", 1)[-1]).hexdigest()
        again = self._by_key.get(key)
        if again is not None:  # the till sent it again (it lost the answer)
            if again.stamps != stamps or again.prices != prices:
                raise Bad(f"чек {key} уже принят с другим содержимым")
            return again
        if self.refuse:
            raise Bad(self.refuse)
        for stamp in stamps:
            if kind == "sale" and stamp in self.sold:
                raise Bad(f"марка {stamp[:8]}… уже продана")
            if kind == "return" and stamp not in self.sold:
                raise Bad(f"марка {stamp[:8]}… не продавалась")
        (self.sold.update if kind == "sale" else self.sold.difference_update)(stamps)
        url = f"https://check.egais.ru?id={uuid.uuid4()}&dt={key.split(':')[2]}&cn={key.split(':')[0]}"
        accepted = Accepted(key, digest, kind, stamps, url, hashlib.sha512(xml).hexdigest()[:128].upper(), prices, form)
        self._by_key[key] = accepted
        self.cheques.append(accepted)
        return accepted


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_file(req: Request) -> bytes:
    kind = req.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise Bad("ожидается multipart/form-data с полем xml_file")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + kind.encode() + b"\r\n\r\n" + req.body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "xml_file":
            payload: Any = part.get_payload(decode=True)
            return bytes(payload)
    raise Bad("нет поля xml_file")


def _read(xml: bytes, form: str) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """(sale or return, the cheque's key: till, number, time; its stamps; its prices)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise Bad(f"XML не разобран: {e}") from None
    if form == "Cheque":
        if root.tag != "Cheque":
            raise Bad("ожидается Cheque")
        a = root.attrib
        for name in ("inn", "kpp", "kassa", "shift", "number", "datetime", "name", "address"):
            if name not in a:
                raise Bad(f"нет атрибута {name}")
        if not re.fullmatch(r"\d{10}", a["datetime"]):
            raise Bad("datetime: ДДММГГЧЧММ")
        bottles = [(b.get("barcode", ""), b.get("price", ""), b.get("ean", "")) for b in root.findall("Bottle")]
        key = f"{a['kassa']}:{a['number']}:{a['datetime']}"
    else:
        header = root.find(f".//{CK}Header")
        if header is None:
            raise Bad("нет ck:Header")
        fields = {t: header.findtext(f"{CK}{t}") for t in ("Date", "Kassa", "Shift", "Number", "Type")}
        if any(v is None or not v.strip() for v in fields.values()):
            raise Bad("ck:Header: Date, Kassa, Shift, Number, Type")
        if fields["Type"] not in ("Продажа", "Возврат"):
            raise Bad("ck:Type: Продажа или Возврат")
        bottles = [
            (b.findtext(f"{CK}Barcode") or "", b.findtext(f"{CK}Price") or "", b.findtext(f"{CK}EAN") or "")
            for b in root.iter(f"{CK}Bottle")
        ]
        date = (fields["Date"] or "").replace("-", "").replace("T", "").replace(":", "")[:12]
        key = f"{fields['Kassa']}:{fields['Number']}:{date}"
    if not bottles:
        raise Bad("в чеке нет бутылок")
    for stamp, price, ean in bottles:
        if not STAMP.match(stamp):
            raise Bad(f"неверная марка {stamp[:12]!r}")
        if not PRICE.match(price):
            raise Bad(f"неверная цена {price!r}")
        if not re.fullmatch(r"\d{8}|\d{13}", ean):
            raise Bad(f"неверный EAN {ean!r}")
    signs = {price.startswith("-") for _, price, _ in bottles}
    if len(signs) != 1:
        raise Bad("в одном чеке продажа и возврат")
    kind = "return" if signs == {True} else "sale"
    if form != "Cheque" and (fields["Type"] == "Возврат") != (kind == "return"):
        raise Bad("ck:Type не совпадает со знаком цен")
    return kind, key, tuple(s for s, _, _ in bottles), tuple(p for _, p, _ in bottles)
