"""The reader families: one line each (docs/adr/0011-drivers-from-a-registry.md).

A family is a driver file that declares its settings model (a ``ReaderSettings`` subclass
whose ``driver`` is a literal, with the keys only that family has) and its ``Reader``.
``ReaderConfig`` is the discriminated union the configuration validates ``[[readers]]``
against, so an unknown driver, or a key another family has, is a configuration error that
names the reader; ``build_reader`` makes the reader its settings describe.

To add a family: ``drivers/<family>.py`` (settings + reader), ``sim/<device>.py`` (its
simulated counterpart) and its settings class in ``Family`` below.
"""

from __future__ import annotations

from typing import Annotated, Final, get_args

from pydantic import Field

from drivers.base import Reader, ReaderSettings
from drivers.llrp import LLRPSettings
from drivers.nfc import NfcSettings
from drivers.pcsc import PCSCSettings
from drivers.scanner import ScannerSettings
from edge_agent.readqueue import ReadQueue

Family = LLRPSettings | PCSCSettings | NfcSettings | ScannerSettings
ReaderConfig = Annotated[Family, Field(discriminator="driver")]

#: driver name -> its settings model
DRIVERS: Final[dict[str, type[ReaderSettings]]] = {
    get_args(cls.model_fields["driver"].annotation)[0]: cls for cls in get_args(Family)
}


class UnknownDriver(ValueError):
    pass


def build_reader(settings: ReaderSettings, queue: ReadQueue | None = None) -> Reader:
    """The reader of one ``[[readers]]`` entry (validated settings of a registered family),
    feeding ``queue`` (the daemon's one read queue) when given."""
    family = DRIVERS.get(settings.driver)
    if family is None or not isinstance(settings, family):
        known = ", ".join(sorted(DRIVERS))
        raise UnknownDriver(f"reader {settings.id}: unknown driver {settings.driver!r} (known: {known})")
    reader = settings.build()
    if queue is not None:
        reader.attach(queue)
    return reader
