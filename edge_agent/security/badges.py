"""Staff badges on the store's readers: a read that is a badge is never an item.

On a staff reader, a badge signs in the handheld waiting on that reader (``staff.Tokens``); on
a customer's reader a staff badge is ignored and counted: customers' readers never sign anyone
in (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from edge_agent.logthrottle import ThrottledLog
from edge_agent.metrics import Metrics
from edge_agent.reads import TagRead
from edge_agent.security.staff import Tokens

log = logging.getLogger("edge_agent")


class Badges:
    """``roles``: reader id -> its role (``staff`` or a customer's); ``badges``: every staff badge's UID."""

    def __init__(self, tokens: Tokens, *, roles: Mapping[str, str], badges: Iterable[str], metrics: Metrics) -> None:
        self.tokens, self.roles, self.metrics = tokens, dict(roles), metrics
        self.badges = {b.upper() for b in badges if b}
        self._noise = ThrottledLog(log)

    def take(self, read: TagRead) -> bool:
        """True when the read is not an item: anything on a staff reader, or a staff badge on a
        customer's reader."""
        if self.roles.get(read.reader_id) == "staff":
            staff = self.tokens.badge_read(read.raw, read.reader_id)
            if staff is not None:
                log.info("staff badge of %s tapped on %s", staff, read.reader_id)
            elif self.tokens.member_of(read.raw) is not None:  # a badge, and no sign-in waiting for it
                self.metrics.refusals.labels("badge_read_unclaimed").inc()
            return True
        if self.badges and read.raw.upper() in self.badges:
            self.metrics.refusals.labels("badge_on_customer_reader").inc()
            self._noise.warning(
                read.reader_id,
                "a staff badge on customer reader %s: ignored (staff sign in on their handheld's reader)",
                read.reader_id,
            )
            return True
        return False
