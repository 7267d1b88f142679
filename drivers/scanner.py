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

import logging
import time
from typing import Annotated, Final, Literal

import serial
from pydantic import Field

from drivers.base import Backoff, HealthState, ReaderGone, ReaderSettings, TagRead, ThreadedReader
from drivers.scanner_lines import GAP_S, MAX_SCAN, LineFramer, Scan
from edge_agent.logthrottle import ThrottledLog

log = logging.getLogger(__name__)
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
    #: the inter-character timeout: a line quiet this long has ended, terminator or not
    gap_s: Annotated[float, Field(ge=0.02, le=2.0)] = GAP_S

    def build(self) -> ScannerReader:
        return ScannerReader(
            self.id,
            self.path,
            baudrate=self.baudrate,
            suffix=LINE_ENDINGS[self.line_ending],
            max_scan=self.max_scan,
            gap_s=self.gap_s,
        )


class ScannerReader(ThreadedReader):
    def __init__(
        self,
        reader_id: str,
        port: str,
        *,
        baudrate: int = 9600,
        suffix: bytes = b"\r",
        backoff: Backoff | None = None,
        max_scan: int = MAX_SCAN,
        gap_s: float = GAP_S,
    ) -> None:
        super().__init__(reader_id, backoff)
        self.port, self.baudrate, self.suffix, self.max_scan, self.gap_s = port, baudrate, suffix, max_scan, gap_s
        self.discarded = 0  # junk lines dropped (too long, or bytes no code has)
        self._junk = ThrottledLog(log)

    def _run(self) -> None:
        try:
            port = serial.Serial(self.port, self.baudrate, timeout=self.gap_s / 2)
        except (serial.SerialException, OSError) as e:
            raise ReaderGone(f"cannot open scanner {self.port}: {e}") from None
        self._health_threadsafe(HealthState.ONLINE, f"scanner on {self.port}")
        framer = LineFramer(self.suffix, self.gap_s, self.max_scan)
        try:
            while not self._halt.is_set():
                try:
                    chunk = port.read(256)
                except (serial.SerialException, OSError) as e:
                    raise ReaderGone(f"scanner {self.port} gone: {e}") from None
                now = time.monotonic()
                for frame in framer.feed(chunk, now) if chunk else framer.idle(now):
                    if isinstance(frame, Scan):
                        self._emit_threadsafe(TagRead(self.reader_id, 0, "barcode", frame.code))
                    else:
                        self.discarded += 1
                        self._junk.warning(
                            frame.reason,
                            "scanner %s: dropped %d bytes (%s); %d dropped so far",
                            self.reader_id,
                            frame.size,
                            frame.reason,
                            self.discarded,
                        )
        finally:
            port.close()
