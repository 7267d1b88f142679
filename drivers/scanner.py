"""2D barcode scanners on a serial port (USB-CDC / RS-232) via pyserial.

A scanner in serial mode sends each scan as bytes followed by a suffix (CR by default).
Bytes are taken as Latin-1, one character each, so the GS separator (0x1D), a ``]d2``
symbology identifier and an FNC1 rendered as 0xE8 reach the identity layer unchanged
(it accepts all of them). Each scan is one ``TagRead`` of kind ``barcode``.

The device path may be a stable symlink (``/dev/serial/by-id/...``): when the scanner is
unplugged the session ends with the reason, and the supervisor reopens the path when it
is back.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import serial
from pydantic import Field

from drivers.base import Backoff, HealthState, ReaderGone, ReaderSettings, TagRead, ThreadedReader

MAX_SCAN: Final = 4096  # bytes; a longer "line" is noise, not a code
LINE_ENDINGS: Final = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}


class ScannerSettings(ReaderSettings):
    """``[[readers]] driver = "scanner"``: a 2D scanner in serial mode."""

    driver: Literal["scanner"]
    #: the serial device, best a stable link (``/dev/serial/by-id/...``)
    path: str = ""
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    #: what the scanner sends after each code (CR, LF and CRLF are all taken as line ends)
    line_ending: Literal["CR", "LF", "CRLF", "TAB"] = "CR"
    #: bytes; a longer "line" is noise, not a code
    max_scan: Annotated[int, Field(ge=64, le=65536)] = MAX_SCAN

    def build(self) -> ScannerReader:
        return ScannerReader(self.id, self.path, self.baudrate, LINE_ENDINGS[self.line_ending], max_scan=self.max_scan)


class ScannerReader(ThreadedReader):
    def __init__(
        self,
        reader_id: str,
        port: str,
        baudrate: int = 9600,
        suffix: bytes = b"\r",
        backoff: Backoff | None = None,
        max_scan: int = MAX_SCAN,
    ) -> None:
        super().__init__(reader_id, backoff)
        self.port, self.baudrate, self.suffix, self.max_scan = port, baudrate, suffix, max_scan
        self.discarded = 0

    def _run(self) -> None:
        try:
            port = serial.Serial(self.port, self.baudrate, timeout=0.2)
        except (serial.SerialException, OSError) as e:
            raise ReaderGone(f"cannot open scanner {self.port}: {e}") from None
        self._health_threadsafe(HealthState.ONLINE, f"scanner on {self.port}")
        buffer = b""
        try:
            while not self._halt.is_set():
                try:
                    chunk = port.read(256)
                except (serial.SerialException, OSError) as e:
                    raise ReaderGone(f"scanner {self.port} gone: {e}") from None
                if not chunk:
                    continue
                buffer += chunk
                *scans, buffer = _split(buffer, self.suffix)
                for scan in filter(None, scans):
                    self._emit_threadsafe(TagRead(self.reader_id, 0, "barcode", scan.decode("latin-1")))
                if len(buffer) > self.max_scan:
                    self.discarded += 1
                    buffer = b""
        finally:
            port.close()


def _split(buffer: bytes, suffix: bytes) -> list[bytes]:
    """Whole scans and the rest; any of CR, LF, CRLF ends a line unless the suffix is TAB."""
    if suffix == b"\t":
        return buffer.split(b"\t")
    return buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
