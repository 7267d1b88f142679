"""What a read is, as an item: its identity, its full mark code and whether its chip is the one
its EPC belongs to. Pure: the store's facts come in as lookups (received codes, TID bindings).

A read that is not an item (a staff badge on a box, another system's tag, a smudged scan)
comes back as its ``ParseError``, a value the lane counts and logs; nothing is raised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from edge_agent.codes import Identity, ParseError, parse
from edge_agent.gate.rules import tid_matches
from edge_agent.reads import TagRead


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemFacts:
    identity: Identity
    #: the full mark code: from the tag or scan itself, its User memory, or the received codes
    mark_code: str | None
    #: its identity with that mark code parsed in (what the check services are asked about)
    checked_as: Identity
    tid: str | None  # the chip's TID as read (hex), if the reader reported it
    bound_tid: str | None  # the TID the store knows the item's EPC was encoded on
    cloned: bool  # read on another chip than its own: a copy of the EPC
    grams: int | None = None  # a weighed item's net weight, from its mark code (AI 310n)


def weight_grams(identity: Identity) -> int | None:
    """The net weight a mark code carries (GS1 AI 310n: kilograms, six digits, the AI's last
    digit the number of decimals), in grams; None without one."""
    for ai, value in identity.extra.items():
        if len(ai) == 4 and ai.startswith("310") and value.isdigit():
            decimals = int(ai[3])
            grams = int(value) * 10 ** (3 - decimals) if decimals <= 3 else round(int(value) / 10 ** (decimals - 3))
            return grams or None
    return None


def identity_of(read: TagRead) -> Identity | ParseError:
    """The read's identity, with the КМ written in the tag's User memory when the tag carries
    only its EPC."""
    try:
        identity = parse(read.raw)
    except ParseError as e:
        return e
    if identity.mark_code is None and read.user_memory:
        with contextlib.suppress(ParseError):
            stored = parse(read.user_memory.rstrip(b"\x00").decode("latin-1"))
            if stored.ki == identity.ki and stored.mark_code is not None:
                return stored
    return identity


def resolve(
    read: TagRead,
    *,
    mark_code_for: Callable[[str], str | None],
    tid_of: Callable[[str], str | None],
) -> ItemFacts | ParseError:
    """The item behind ``read`` (or why it is none). ``mark_code_for``: the received code of a
    КИ; ``tid_of``: the TID an item's EPC is bound to."""
    identity = identity_of(read)
    if isinstance(identity, ParseError):
        return identity
    mark_code = identity.mark_code or mark_code_for(identity.ki)
    checked_as = identity
    if mark_code and identity.mark_code is None:
        with contextlib.suppress(ParseError):
            checked_as = parse(mark_code)
    tid = read.tid.hex().upper() if read.tid else None
    bound = tid_of(identity.ki) if read.tid else None
    cloned = bound is not None and read.tid is not None and not tid_matches(bytes.fromhex(bound), read.tid)
    return ItemFacts(
        identity=identity,
        mark_code=mark_code,
        checked_as=checked_as,
        tid=tid,
        bound_tid=bound,
        cloned=cloned,
        grams=weight_grams(checked_as),
    )
