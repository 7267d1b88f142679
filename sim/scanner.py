"""A 2D scanner on a pseudo-terminal: what the store's serial scanner looks like to pyserial.

``ScannerSim`` opens a pty and keeps a stable symlink to it (like ``/dev/serial/by-id``);
``scan()`` sends a code the way the scanner does (optional ``]d2`` prefix or FNC1 as 0xE8,
GS as 0x1D, CR suffix); ``unplug()``/``plug()`` make the device disappear and come back.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


class ScannerSim:
    def __init__(self, link: Path) -> None:
        self.link = link
        self._master: int | None = None
        self._slave: int | None = None

    def plug(self) -> None:
        self.unplug()
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        tmp = self.link.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def scan(self, code: str | bytes, prefix: bytes = b"", suffix: bytes = b"\r") -> None:
        if self._master is None:
            raise RuntimeError("the scanner is unplugged")
        raw = code.encode("latin-1") if isinstance(code, str) else code
        os.write(self._master, prefix + raw + suffix)
