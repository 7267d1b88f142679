"""A store's RF, pure: which tags a reader's inventory reads, round by round (docs/readers.md).

A UHF reader inventories in **rounds** (EPC Gen2 session 0, the usual setting for a box or a
gate): in each round every tag in an antenna's field is asked once and answers once, unless
it is missed (a collision, a fade, the tag detuned by the tag lying on it). A round costs one
slot per tag plus a little overhead, so with more tags a round takes longer, and the reader's
rate (reads/s) is how many slots it gets through. What this model adds to a kind simulator:

- **density**: the chance a tag is missed in a round grows with the number of tags in the
  field. Calibrated to a public measurement of a dense carton read (University of Arkansas
  RFID Research Center: 99.38 % of 97 tags read, 89.89 % of 180): the extra miss is
  ``0.0062·e^(0.0336·(n−97))`` (0.62 % at 97 tags, 10.1 % at 180), on top of the reader's own
  ``miss_rate`` and capped at ``MAX_DENSITY_MISS``;
- **missed rounds**: now and then a whole round reads nothing (``missed_rounds``);
- **strays**: tags near but outside the zone (the next lane, a shelf by the door, the
  backroom) are read weakly and only in some rounds (``SimTag.stray`` with ``read_chance``);
- **shielding**: a tag in a foil-lined bag is never read (``SimTag.shielded``).

``InventoryModel.step(tags, antennas, dt, now_us)`` is called by the simulated reader every
few milliseconds with the time that passed and returns the reads it made in that time. No
I/O and no clock: property tests and ``bench/rf.py`` run it in virtual time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from edge_agent.llrp import TagReport
from edge_agent.reads import TagRead
from sim.gen2 import Memory, Outcome, run

MAX_READS_PER_S: Final = 1500  # a fast fixed reader (Impinj R700 class) in a box
MAX_DENSITY_MISS: Final = 0.6
ROUND_OVERHEAD_SLOTS: Final = 2  # the Query and the empty slots that end a round, per antenna
STRAY_READ_CHANCE: Final = 0.1  # a stray is read in one round of ten


@dataclass(eq=False)
class SimTag:
    epc: bytes
    #: antenna -> (min, max) RSSI in dBm where the tag is visible
    antennas: dict[int, tuple[int, int]]
    #: a tag outside the zone, read weakly and now and then (``read_chance`` of the rounds)
    stray: bool = False
    tid: bytes = b""
    user: bytes = b""
    #: in a foil-lined bag: never read
    shielded: bool = False
    #: the chance it is read in a round, when it is not the density's to say (strays)
    read_chance: float | None = None
    #: taken out of the field (the reader may be half-way through a round that listed it)
    gone: bool = field(default=False, repr=False)
    #: passwords, locks and whether it was killed (sim/gen2.py), made at the first access
    chip: Memory | None = field(default=None, repr=False)

    def memory(self, bank: int) -> bytes:
        """A memory bank as Gen2 lays it out (bank 1: StoredCRC, PC, then the EPC)."""
        return self.gen2().bank(self.epc, bank)

    def gen2(self) -> Memory:
        if self.chip is None:
            self.chip = Memory(tid=self.tid, user=self.user)
        return self.chip

    def access(self, command: dict[str, Any]) -> Outcome:
        """Run an AccessSpec's operations on this tag: a write may change its EPC or memory."""
        chip = self.gen2()
        outcome = run(self.epc, chip, command)
        self.epc, self.tid, self.user = outcome.epc, chip.tid, chip.user
        return outcome

    @property
    def silent(self) -> bool:
        """Never answers: in a foil bag, or killed."""
        return self.shielded or (self.chip is not None and self.chip.killed)


def density_miss(n: int) -> float:
    """The extra chance a tag is missed in a round with ``n`` tags in the field."""
    if n <= 0:
        return 0.0
    return min(MAX_DENSITY_MISS, 0.0062 * math.exp(0.0336 * (n - 97)))


def miss_probability(n: int, miss_rate: float, density: bool = True) -> float:
    """The chance one tag among ``n`` in the field is missed in one round."""
    extra = density_miss(n) if density else 0.0
    return 1 - (1 - miss_rate) * (1 - extra)


@dataclass(slots=True)
class _Slot:
    tag: SimTag
    antenna: int
    hit: bool


class InventoryModel:
    """Rounds of Gen2 inventory over the antennas of a running ROSpec."""

    def __init__(
        self,
        rng: random.Random,
        reads_per_s: float,
        miss_rate: float,
        capped: bool = True,
        *,
        missed_rounds: float = 0.0,
        density: bool = True,
    ) -> None:
        self.rng = rng
        #: a real reader's rate is at most MAX_READS_PER_S; uncapped, it floods (overload tests)
        self.reads_per_s = min(reads_per_s, MAX_READS_PER_S) if capped else reads_per_s
        self.miss_rate = miss_rate
        self.missed_rounds = missed_rounds
        self.density = density
        self._carry = 0.0
        self._round: list[_Slot] = []
        self.rounds = 0  # rounds begun (each over every antenna once)
        self.last_tags: list[SimTag] = []

    def _begin_round(self, tags: list[SimTag], antennas: tuple[int, ...]) -> None:
        every = not antennas or 0 in antennas
        by_antenna: dict[int, list[SimTag]] = {}
        for t in tags:
            if t.silent or t.gone:
                continue
            for a in t.antennas:
                if every or a in antennas:
                    by_antenna.setdefault(a, []).append(t)
        if not by_antenna:
            self._round = []
            return
        self.rounds += 1
        lost = self.rng.random() < self.missed_rounds
        slots: list[_Slot] = []
        for antenna in sorted(by_antenna):  # the reader cycles its antennas, a round on each
            field_ = by_antenna[antenna]
            genuine = sum(1 for t in field_ if not t.stray)
            miss = miss_probability(genuine, self.miss_rate, self.density)
            order = field_[:]
            self.rng.shuffle(order)
            for t in order:
                chance = (t.read_chance if t.read_chance is not None else STRAY_READ_CHANCE) if t.stray else 1 - miss
                slots.append(_Slot(t, antenna, not lost and self.rng.random() < chance))
        slots.reverse()  # popped from the end
        self._round = slots
        self._carry -= ROUND_OVERHEAD_SLOTS * len(by_antenna)

    def step(self, tags: list[SimTag], antennas: tuple[int, ...], dt: float, now_us: int) -> list[TagReport]:
        self._carry += self.reads_per_s * dt
        out: list[TagReport] = []
        self.last_tags = []
        while self._carry >= 1:
            if not self._round:
                self._begin_round(tags, antennas)
                if not self._round:
                    self._carry = 0.0  # nothing in the field: the reader idles
                    break
                continue
            slot = self._round.pop()
            self._carry -= 1
            tag = slot.tag
            if not slot.hit or tag.gone or slot.antenna not in tag.antennas:
                continue
            low, high = tag.antennas[slot.antenna]
            out.append(TagReport(tag.epc, slot.antenna, self.rng.randint(low, high), now_us, seen_count=1))
            self.last_tags.append(tag)
        return out


def virtual_reads(
    model: InventoryModel,
    tags: list[SimTag],
    reader_id: str,
    *,
    start: float,
    end: float,
    step_s: float = 0.005,
    antennas: tuple[int, ...] = (),
) -> Iterator[TagRead]:
    """The reads a reader makes from ``start`` to ``end`` in virtual time, ``received`` at the
    step they fall in (property tests and ``bench/rf.py`` drive the pipeline with them)."""
    t = start
    while t < end:
        t = min(t + step_s, end)
        for r in model.step(tags, antennas, step_s, int(t * 1e6)):
            yield TagRead(reader_id, r.antenna or 0, "epc", r.epc.hex().upper(), r.peak_rssi, t, received=t)
