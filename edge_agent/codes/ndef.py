"""NDEF (NFC Forum Data Exchange Format): the records an item's NFC tag carries.

Pure: parse and build NDEF messages with URI and Text records (NFC Forum RTD URI 1.0 and
RTD Text 1.0), and the TLV framing of NFC Forum Type 2 tags (NTAG21x; Type 2 Tag
Operation 1.2 §2.3). Errors are :class:`NdefError` with a stable code and a byte position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from edge_agent.codes.errors import CodeError

# RTD URI abbreviation table (URI Record Type Definition, table 3)
URI_PREFIXES: Final = (
    "",
    "http://www.",
    "https://www.",
    "http://",
    "https://",
    "tel:",
    "mailto:",
    "ftp://anonymous:anonymous@",
    "ftp://ftp.",
    "ftps://",
    "sftp://",
    "smb://",
    "nfs://",
    "ftp://",
    "dav://",
    "news:",
    "telnet://",
    "imap:",
    "rtsp://",
    "urn:",
    "pop:",
    "sip:",
    "sips:",
    "tftp:",
    "btspp://",
    "btl2cap://",
    "btgoep://",
    "tcpobex://",
    "irdaobex://",
    "file://",
    "urn:epc:id:",
    "urn:epc:tag:",
    "urn:epc:pat:",
    "urn:epc:raw:",
    "urn:epc:",
    "urn:nfc:",
)
TNF_WELL_KNOWN: Final = 1
TLV_NULL, TLV_LOCK, TLV_MEMORY, TLV_NDEF, TLV_TERMINATOR = 0x00, 0x01, 0x02, 0x03, 0xFE


class NdefError(CodeError):
    """Bytes that are not the NDEF we expect (codes: ndef_truncated, ndef_invalid, no_ndef)."""


@dataclass(frozen=True, slots=True)
class Record:
    tnf: int
    type: bytes
    payload: bytes
    id: bytes = b""

    @property
    def uri(self) -> str | None:
        if self.tnf != TNF_WELL_KNOWN or self.type != b"U" or not self.payload:
            return None
        code = self.payload[0]
        prefix = URI_PREFIXES[code] if code < len(URI_PREFIXES) else ""
        return prefix + self.payload[1:].decode("utf-8", "replace")

    @property
    def text(self) -> str | None:
        if self.tnf != TNF_WELL_KNOWN or self.type != b"T" or not self.payload:
            return None
        status = self.payload[0]
        body = self.payload[1 + (status & 0x3F) :]
        return body.decode("utf-16" if status & 0x80 else "utf-8", "replace")


def uri_record(uri: str) -> Record:
    code = max(
        (i for i, p in enumerate(URI_PREFIXES) if p and uri.startswith(p)),
        key=lambda i: len(URI_PREFIXES[i]),
        default=0,
    )
    return Record(TNF_WELL_KNOWN, b"U", bytes([code]) + uri[len(URI_PREFIXES[code]) :].encode("utf-8"))


def text_record(text: str, lang: str = "en") -> Record:
    return Record(TNF_WELL_KNOWN, b"T", bytes([len(lang)]) + lang.encode("ascii") + text.encode("utf-8"))


def parse_message(data: bytes) -> list[Record]:
    """The records of one NDEF message (chunked records are refused)."""
    records: list[Record] = []
    pos, n = 0, len(data)
    while pos < n:
        start = pos
        if pos + 3 > n:
            raise NdefError("ndef_truncated", "record header cut short", pos)
        flags = data[pos]
        tnf, short, has_id = flags & 7, flags & 0x10, flags & 0x08
        if flags & 0x20:
            raise NdefError("ndef_invalid", "chunked records are not supported", pos)
        type_len = data[pos + 1]
        pos += 2
        if short:
            payload_len = data[pos]
            pos += 1
        else:
            if pos + 4 > n:
                raise NdefError("ndef_truncated", "payload length cut short", pos)
            payload_len = int.from_bytes(data[pos : pos + 4], "big")
            pos += 4
        id_len = 0
        if has_id:
            if pos >= n:
                raise NdefError("ndef_truncated", "id length cut short", pos)
            id_len = data[pos]
            pos += 1
        end = pos + type_len + id_len + payload_len
        if end > n:
            raise NdefError("ndef_truncated", f"record needs {end - start} bytes, {n - start} left", start)
        type_ = data[pos : pos + type_len]
        rid = data[pos + type_len : pos + type_len + id_len]
        payload = data[pos + type_len + id_len : end]
        records.append(Record(tnf, bytes(type_), bytes(payload), bytes(rid)))
        pos = end
        if flags & 0x40:  # ME: message end
            break
    if not records:
        raise NdefError("ndef_invalid", "empty NDEF message", 0)
    return records


def build_message(records: list[Record]) -> bytes:
    out = bytearray()
    for i, r in enumerate(records):
        flags = r.tnf | (0x80 if i == 0 else 0) | (0x40 if i == len(records) - 1 else 0)
        short = len(r.payload) < 256
        flags |= (0x10 if short else 0) | (0x08 if r.id else 0)
        out += bytes([flags, len(r.type)])
        out += bytes([len(r.payload)]) if short else len(r.payload).to_bytes(4, "big")
        if r.id:
            out.append(len(r.id))
        out += r.type + r.id + r.payload
    return bytes(out)


def find_ndef_tlv(data: bytes) -> bytes:
    """The NDEF message inside a Type 2 tag's data area (from page 4), or NdefError no_ndef."""
    pos, n = 0, len(data)
    while pos < n:
        tag = data[pos]
        if tag == TLV_NULL:
            pos += 1
            continue
        if tag == TLV_TERMINATOR:
            break
        if pos + 2 > n:
            raise NdefError("ndef_truncated", "TLV length cut short", pos)
        length, head = data[pos + 1], 2
        if length == 0xFF:
            if pos + 4 > n:
                raise NdefError("ndef_truncated", "TLV length cut short", pos)
            length, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        if pos + head + length > n:
            raise NdefError("ndef_truncated", f"TLV of {length} bytes runs past the data read", pos)
        if tag == TLV_NDEF:
            return data[pos + head : pos + head + length]
        pos += head + length
    raise NdefError("no_ndef", "no NDEF message TLV on the tag", pos)


def ndef_tlv(message: bytes) -> bytes:
    head = bytes([TLV_NDEF, len(message)]) if len(message) < 0xFF else b"\x03\xff" + len(message).to_bytes(2, "big")
    return head + message + bytes([TLV_TERMINATOR])
