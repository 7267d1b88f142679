"""Presence events a lane could not act on yet, each with why (one buffer for the lane).

- ``STORE_UNAVAILABLE``: the store could not journal it (a full disk); replayed in order once
  it can. An item that came and went meanwhile leaves nothing to record.
- ``BASKET_PAYING``: an item put in while the basket is being paid; it starts the next basket
  once this one is over, rather than being added to the one being paid or forgotten (and
  walking out unpaid). Taken out again first, it is forgotten.
"""

from __future__ import annotations

from enum import StrEnum

from edge_agent.pipeline import Arrived, Departed, Key


class HeldFor(StrEnum):
    STORE_UNAVAILABLE = "store_unavailable"
    BASKET_PAYING = "basket_paying"


class HeldEvents:
    def __init__(self) -> None:
        self._events: dict[Key, tuple[Arrived | Departed, HeldFor]] = {}

    def hold(self, event: Arrived | Departed, why: HeldFor) -> None:
        """Keep ``event`` until ``release(why)``; an item that leaves while its arrival is held
        cancels it."""
        held = self._events.pop(event.key, None)
        if isinstance(event, Departed) and held is not None and isinstance(held[0], Arrived):
            return  # it came and went while held: nothing to record
        self._events[event.key] = (event, why)

    def why(self, key: Key) -> HeldFor | None:
        held = self._events.get(key)
        return None if held is None else held[1]

    def drop(self, key: Key) -> Arrived | Departed | None:
        held = self._events.pop(key, None)
        return None if held is None else held[0]

    def release(self, why: HeldFor) -> list[Arrived | Departed]:
        """The events held for ``why``, in the order they came; they are no longer held."""
        out = [event for event, reason in self._events.values() if reason is why]
        self._events = {k: v for k, v in self._events.items() if v[1] is not why}
        return out

    def count(self, why: HeldFor) -> int:
        return sum(1 for _, reason in self._events.values() if reason is why)
