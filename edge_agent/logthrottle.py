"""Log lines that cannot flood: at most one per key per interval, with how many were held back.

A reader that sends junk thousands of times a second, or a disk that refuses every write, is
one log line a minute per kind of trouble, and a counter in ``/metrics`` for the exact number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledLog:
    def __init__(
        self, logger: logging.Logger, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger, self.every_s, self.clock = logger, every_s, clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Log ``msg`` unless ``key`` was logged less than ``every_s`` ago; True when logged."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        self._last[key] = now
        if held:
            msg += f" ({held} more like it since the last line)"
        self.logger.log(level, msg, *args)
        return True

    def info(self, key: str, msg: str, *args: object) -> bool:
        return self.log(logging.INFO, key, msg, *args)

    def warning(self, key: str, msg: str, *args: object) -> bool:
        return self.log(logging.WARNING, key, msg, *args)


class FloodFilter(logging.Filter):
    """A ``logging.Filter`` for loggers we do not own (uvicorn's): at most ``burst`` records per
    message template per ``every_s``; the rest are dropped and counted in ``dropped``. An attack
    that makes the server log (malformed requests, aborted WebSockets) cannot fill the disk."""

    def __init__(self, every_s: float = 60.0, burst: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s, self.burst, self.clock = every_s, burst, clock
        self._window: dict[str, tuple[float, int]] = {}
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now, key = self.clock(), str(record.msg).split("\n", 1)[0][:200]  # asyncio's details vary per record
        start, n = self._window.get(key, (now, 0))
        if now - start >= self.every_s:
            start, n = now, 0
        if len(self._window) > 1000:
            self._window.clear()
        self._window[key] = (start, n + 1)
        if n < self.burst:
            return True
        self.dropped += 1
        return False
