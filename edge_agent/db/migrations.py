"""The database's schema: one ordered list of migrations, each applied once, in order.

``PRAGMA user_version`` says how many a database has; a new migration goes at the end and never
changes one that shipped, so every older database opens unchanged (docs/architecture.md). The
tables belong to the packages that read and write them (each package's ``records.py``); the
schema stays in one list so that the order of changes is one history.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[list[str]] = [
    # 1: the first schema
    """
    CREATE TABLE catalog (gtin TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, vat INTEGER NOT NULL,
                          category TEXT NOT NULL DEFAULT '', grp TEXT, marked INTEGER NOT NULL DEFAULT 0,
                          min_age INTEGER NOT NULL DEFAULT 0, alcohol INTEGER NOT NULL DEFAULT 0, qty_limit INTEGER);
    CREATE TABLE received_codes (ki TEXT PRIMARY KEY, mark_code TEXT NOT NULL, received_at REAL NOT NULL);
    CREATE TABLE baskets (id TEXT PRIMARY KEY, lane TEXT NOT NULL, state TEXT NOT NULL, opened_at REAL NOT NULL,
                          closed_at REAL);
    CREATE TABLE journal (basket_id TEXT NOT NULL REFERENCES baskets(id), seq INTEGER NOT NULL, op TEXT NOT NULL,
                          args TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (basket_id, seq));
    CREATE TABLE verdicts (basket_id TEXT NOT NULL, line_id INTEGER NOT NULL, ki TEXT NOT NULL, outcome TEXT NOT NULL,
                           source TEXT, req_id TEXT, req_timestamp INTEGER, fiscal TEXT,
                           PRIMARY KEY (basket_id, line_id));
    CREATE TABLE sold (ki TEXT PRIMARY KEY, basket_id TEXT NOT NULL, sold_at REAL NOT NULL);
    CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload TEXT NOT NULL,
                         basket_id TEXT, journal_seq INTEGER, created_at REAL NOT NULL, sent_at REAL);
    CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
    CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, staff TEXT NOT NULL,
                        device TEXT NOT NULL, action TEXT NOT NULL, basket_id TEXT, detail TEXT NOT NULL);
    """,
    # 2: sync with central: requests with idempotency keys, payment attempts, stream versions
    """
    CREATE TABLE requests (key TEXT PRIMARY KEY, service TEXT NOT NULL, op TEXT NOT NULL, data TEXT NOT NULL,
                           basket_id TEXT, created_at REAL NOT NULL, answered_at REAL, response TEXT);
    CREATE TABLE payments (id TEXT PRIMARY KEY, basket_id TEXT NOT NULL, method TEXT NOT NULL,
                           amount INTEGER NOT NULL, step TEXT NOT NULL, provider_id TEXT, status TEXT,
                           detail TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL);
    CREATE INDEX payments_open ON payments (basket_id) WHERE step NOT IN ('done', 'failed', 'refunded');
    CREATE TABLE sync_state (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at REAL NOT NULL);
    """,
    # 3: the price with a loyalty card (shown on the product page)
    """
    ALTER TABLE catalog ADD COLUMN loyalty_price INTEGER;
    """,
    # 4: baskets whose journal does not replay: kept as they are, out of sale, shown to staff
    """
    CREATE TABLE quarantine (basket_id TEXT PRIMARY KEY, lane TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
    """,
    # 5: returns of past sales at the staff handheld (docs/fiscal.md): the lines, the steps
    """
    CREATE TABLE returns (id TEXT PRIMARY KEY, basket_id TEXT NOT NULL, lane TEXT NOT NULL, lines TEXT NOT NULL,
                          amount INTEGER NOT NULL, step TEXT NOT NULL, staff TEXT NOT NULL,
                          detail TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL);
    CREATE INDEX returns_open ON returns (basket_id) WHERE step NOT IN ('done', 'failed');
    """,
    # 6: end-to-end confirmation (docs/mqtt.md): a row waits for central's confirmation, by its
    # event id, when it asked for one; rows written before this waited for the PUBACK only
    """
    ALTER TABLE outbox ADD COLUMN event_id TEXT;
    ALTER TABLE outbox ADD COLUMN confirm INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN confirmed_at REAL;
    UPDATE outbox SET event_id = json_extract(payload, '$.id'), confirmed_at = sent_at;
    CREATE INDEX outbox_event ON outbox (event_id);
    CREATE INDEX outbox_unconfirmed ON outbox (id) WHERE confirmed_at IS NULL;
    """,
    # 7: device credentials (docs/security.md): a kiosk is bound to its lane, a handheld to its
    # staff reader; a device may hold several (its browser's cookie, a program's token); only
    # each token's SHA-256 is kept, and an enrolment code is good once
    """
    CREATE TABLE devices (token_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, lane TEXT,
                          reader TEXT, enrol_sha256 TEXT UNIQUE, enrol_expires REAL, created_at REAL NOT NULL,
                          revoked_at REAL);
    CREATE INDEX devices_name ON devices (name);
    """,
    # 8: the health of readers, registers, verification and the broker over time (the store
    # dashboard): one row per change of a component's state, not per sample
    """
    CREATE TABLE health (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, component TEXT NOT NULL,
                         ok INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT '');
    CREATE INDEX health_component ON health (component, at);
    """,
    # 9: exit gates and cloned tags (docs/readers.md): each item's EPC bound to its chip's TID
    # (sent by central with the received codes, or learnt at its first sale), and the gates'
    # alarms until staff deal with them
    """
    CREATE TABLE tid_bindings (ki TEXT PRIMARY KEY, tid TEXT NOT NULL, source TEXT NOT NULL, bound_at REAL NOT NULL);
    CREATE TABLE gate_alarms (id INTEGER PRIMARY KEY AUTOINCREMENT, gate TEXT NOT NULL, epc TEXT NOT NULL,
                              ki TEXT, gtin TEXT, name TEXT, reason TEXT NOT NULL, first_read_at REAL NOT NULL,
                              at REAL NOT NULL, resolved_at REAL, resolved_by TEXT);
    CREATE INDEX gate_alarms_open ON gate_alarms (id) WHERE resolved_at IS NULL;
    """,
    # 10: enrolment links opened twice, and credentials that expire unless used
    # (docs/security.md): the digest of a spent enrolment code, and when a credential was last used
    """
    ALTER TABLE devices ADD COLUMN spent_sha256 TEXT;
    ALTER TABLE devices ADD COLUMN used_at REAL;
    UPDATE devices SET used_at = created_at;
    CREATE INDEX devices_spent ON devices (spent_sha256) WHERE spent_sha256 IS NOT NULL;
    """,
    # 11: which version of edge-agent last opened the database (0.3.0 on): an older version
    # refusing it (a downgrade) names the version to install again (docs/operations.md)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 12: weighed goods and packs sold in parts, and stamped strong alcohol (ЕГАИС) in the
    # catalogue (docs/fiscal.md)
    """
    ALTER TABLE catalog ADD COLUMN sold_by TEXT NOT NULL DEFAULT 'piece';
    ALTER TABLE catalog ADD COLUMN pack_units INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE catalog ADD COLUMN egais INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE catalog ADD COLUMN volume_ml INTEGER NOT NULL DEFAULT 0;
    """,
    # 13: the cheques sent to the store's УТМ (ЕГАИС), each written before it is sent
    # (edge_agent/egais/records.py)
    """
    CREATE TABLE egais_cheques (id TEXT PRIMARY KEY, basket_id TEXT NOT NULL, kind TEXT NOT NULL,
                                number INTEGER NOT NULL, xml BLOB NOT NULL, state TEXT NOT NULL, url TEXT,
                                sign TEXT, error TEXT, created_at REAL NOT NULL, answered_at REAL);
    CREATE INDEX egais_cheques_basket ON egais_cheques (basket_id);
    """,
    # 14: a product's picture (a file name in kiosk.images_dir), as central's catalogue names it
    """
    ALTER TABLE catalog ADD COLUMN image TEXT;
    """,
]
