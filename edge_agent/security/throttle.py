"""Anti-automation for sign-in (OWASP ASVS 2.2, NIST 800-63B §5.2.2, PCI DSS 8.3.4). Pure:
the clock is passed in.

``Lockout`` counts consecutive failures per key (a staff id): after ``max_failures`` the key
is locked for ``lockout_s`` and even the right secret is refused until then; a success
resets it. ``Window`` caps attempts per key (a device, an address) in a sliding minute, so
rotating staff ids from one place does not multiply the guesses. ``RateLimiter`` is a token
bucket per client (the public product page, live checks).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Lockout:
    max_failures: int = 5
    lockout_s: float = 300.0
    max_keys: int = 10_000
    _failures: dict[str, int] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)

    def locked_for(self, key: str, now: float) -> float:
        """Seconds left of the key's lockout (0: not locked)."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= now:  # the timed unlock: a fresh start
            del self._until[key]
            self._failures.pop(key, None)
            return 0.0
        return until - now

    def failed(self, key: str, now: float) -> bool:
        """Count a failure; True when this one locks the key."""
        if len(self._failures) >= self.max_keys and key not in self._failures:
            self._failures.clear()  # a flood of made-up ids: they lock nothing real anyway
        n = self._failures.get(key, 0) + 1
        self._failures[key] = n
        if n >= self.max_failures:
            self._until[key] = now + self.lockout_s
            return True
        return False

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
        self._until.pop(key, None)


@dataclass
class Window:
    """At most ``limit`` events per key in any ``per_s`` seconds."""

    limit: int
    per_s: float = 60.0
    max_keys: int = 10_000
    _events: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> bool:
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self.max_keys:
                self._events = {k: v for k, v in self._events.items() if v and v[-1] > now - self.per_s}
            events = self._events[key] = deque()
        while events and events[0] <= now - self.per_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str, now: float) -> float:
        events = self._events.get(key)
        return max(0.0, events[0] + self.per_s - now) if events else 0.0


class RateLimiter:
    """A token bucket per client address: ``rate`` requests/s, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.max_clients = rate, burst, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return False
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._buckets.clear()  # a flood of addresses: start over rather than grow without bound
        self._buckets[client] = (tokens - 1, now)
        return True


class FairShare:
    """A ceiling of ``rate`` per second in all, shared among the clients asking: in any
    ``window_s`` a client may take at most its share of the window's capacity (the capacity over
    the clients active in it, and one more), so a few clients hammering it cannot starve the
    others (max-min fairness, approximately). Refused requests take nothing."""

    def __init__(self, rate: float, window_s: float = 1.0) -> None:
        self.capacity = max(1, int(rate * window_s))
        self.window_s = window_s
        self._taken: deque[tuple[float, str]] = deque()
        self._per_client: dict[str, int] = {}

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._taken and self._taken[0][0] <= now - self.window_s:
            _, old = self._taken.popleft()
            left = self._per_client[old] - 1
            if left:
                self._per_client[old] = left
            else:
                del self._per_client[old]
        # a place is always kept for one more client: those already hammering cannot fill it all
        active = len(self._per_client) + (client not in self._per_client)
        share = max(1, self.capacity // (active + 1))
        if len(self._taken) >= self.capacity or self._per_client.get(client, 0) >= share:
            return False
        self._taken.append((now, client))
        self._per_client[client] = self._per_client.get(client, 0) + 1
        return True
