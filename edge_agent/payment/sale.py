"""A sale as other systems learn of it: ``transaction.posted`` for central's records and, when
it sold serialized items, an EPCIS 2.0 ``retail_sold`` document on the store's trace topic. Both
are written by the transaction that makes the basket PAID (a ``SaleEffect`` of the journal)."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

from edge_agent.basket.journal import PaidSale
from edge_agent.db import Outbox
from edge_agent.wire.events import EPCIS, POSTED, epcis_sold, posted_transaction


class SaleEvents:
    """``read_point`` is the store's EPCIS readPoint/bizLocation id ("" for none)."""

    def __init__(self, outbox: Outbox, tz: ZoneInfo, read_point: str = "") -> None:
        self.outbox, self.tz, self.read_point = outbox, tz, read_point

    def __call__(self, conn: sqlite3.Connection, sale: PaidSale) -> None:
        basket, args, seq = sale.basket, sale.args, sale.seq
        posted = posted_transaction(basket, args.get("tender"), args.get("at"))
        self.outbox.append(conn, lane=basket.lane, type_=POSTED, data=posted, basket_id=basket.id, seq=seq)
        if any(line.serialized for line in basket.lines.values()):
            doc = epcis_sold(basket, self.tz, self.read_point)
            topic = self.outbox.topics.epcis
            self.outbox.append(conn, lane=basket.lane, type_=EPCIS, data=doc, basket_id=basket.id, seq=seq, topic=topic)
