"""Every package's repository over one database, built complete and in order.

Each package owns its tables (its ``records.py``); this is only where they are put together for
one store's database, with the sale's effects handed to the basket journal by the packages that
own them (docs/architecture.md, "Persistence").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.basket import Rules
from edge_agent.basket.journal import Journal, SaleEffect
from edge_agent.catalog.records import Catalogue
from edge_agent.dashboard.records import HealthLog
from edge_agent.db import Database, Outbox
from edge_agent.gate.records import GateAlarms, SoldSet, TidBindings
from edge_agent.payment.records import PaymentRepository, ReturnRepository
from edge_agent.payment.sale import SaleEvents
from edge_agent.security.records import AuditLog, DeviceRecords
from edge_agent.sync.request_log import RequestLog
from edge_agent.wire.topics import StoreTopics


@dataclass(frozen=True, slots=True)
class Repositories:
    db: Database
    outbox: Outbox
    journal: Journal
    catalogue: Catalogue
    sold: SoldSet
    tids: TidBindings
    gate_alarms: GateAlarms
    payments: PaymentRepository
    returns: ReturnRepository
    requests: RequestLog
    devices: DeviceRecords
    audit: AuditLog
    health: HealthLog
    sale_events: SaleEvents


def open_repositories(
    path: Path | str,
    *,
    tz: ZoneInfo,
    topics: StoreTopics | None = None,
    rules: Rules | None = None,
    read_point: str = "",
    learn_tids: bool = False,
) -> Repositories:
    """The store's database at ``path`` (created and migrated as needed). ``learn_tids``: bind
    each sold item's EPC to the TID it was read with (``[tags] learn_tid_at_sale``)."""
    db = Database(path)
    outbox = Outbox(db, topics or StoreTopics("local"))
    sold, tids = SoldSet(db), TidBindings(db)
    sale_events = SaleEvents(outbox, tz, read_point)
    on_sale: list[SaleEffect] = [sold.record, *([tids.learn] if learn_tids else []), sale_events]
    return Repositories(
        db=db,
        outbox=outbox,
        journal=Journal(db, outbox, rules or Rules(tz), on_sale=on_sale),
        catalogue=Catalogue(db, tids),
        sold=sold,
        tids=tids,
        gate_alarms=GateAlarms(db, outbox),
        payments=PaymentRepository(db),
        returns=ReturnRepository(db),
        requests=RequestLog(db),
        devices=DeviceRecords(db),
        audit=AuditLog(db),
        health=HealthLog(db),
        sale_events=sale_events,
    )
