"""The catalogue file a store starts with, until central has sent its catalogue (docs/configuration.md:
``agent.catalog_file``, JSON ``{"products": [...], "received_codes": {КИ: КМ}}``)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from edge_agent.basket import Product
from edge_agent.store import Store, StoreError


def load_catalog(store: Store, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    store.upsert_products(Product(**p) for p in data.get("products", []))
    store.receive_codes((ki, km) for ki, km in data.get("received_codes", {}).items())


def seed_catalog(store: Store, path: Path | None) -> bool:
    """Load ``path`` if central has sent no catalogue yet; False when the store cannot write now
    (a full disk at start-up: tried again when it can)."""
    if path is None or store.stream_version("catalog") >= 0:
        return True
    with contextlib.suppress(StoreError):
        load_catalog(store, path)
        return True
    return False
