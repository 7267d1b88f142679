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

from typing import Final

import serial

from drivers.base import Backoff, HealthState, ReaderGone, TagRead, ThreadedReader

MAX_SCAN: Final = 4096  # bytes; a longer "line" is noise, not a code


class ScannerReader(ThreadedReader):
    def __init__(
        self,
        reader_id: str,
        port: str,
        baudrate: int = 9600,
        suffix: bytes = b"\r",
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(reader_id, backoff)
        self.port, self.baudrate, self.suffix = port, baudrate, suffix
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
                *scans, buffer = buffer.replace(b"\r\n", b"\r").replace(b"\n", self.suffix).split(self.suffix)
                for scan in filter(None, scans):
                    self._emit_threadsafe(TagRead(self.reader_id, 0, "barcode", scan.decode("latin-1")))
                if len(buffer) > MAX_SCAN:
                    self.discarded += 1
                    buffer = b""
        finally:
            port.close()
