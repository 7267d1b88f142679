"""The catalogue file a store starts with, until central has sent its catalogue (docs/configuration.md:
``agent.catalog_file``, JSON ``{"products": [...], "received_codes": {КИ: КМ}}``)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from edge_agent.basket import Product
from edge_agent.catalog.records import Catalogue
from edge_agent.db import StoreError


def load_catalog(catalogue: Catalogue, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    catalogue.upsert_products(Product(**p) for p in data.get("products", []))
    catalogue.receive_codes((ki, km) for ki, km in data.get("received_codes", {}).items())


def seed_catalog(catalogue: Catalogue, path: Path | None) -> bool:
    """Load ``path`` if central has sent no catalogue yet; False when the store cannot write now
    (a full disk at start-up: tried again when it can)."""
    if path is None or catalogue.stream_version("catalog") >= 0:
        return True
    with contextlib.suppress(StoreError):
        load_catalog(catalogue, path)
        return True
    return False
