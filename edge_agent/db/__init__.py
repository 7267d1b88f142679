"""The database core: the connection and its transactions (``database.py``), the schema's
migrations (``migrations.py``) and the outbox every transaction may append to (``outbox.py``).
Each package keeps its own tables in its ``records.py``."""

from edge_agent.db.database import Database, StoreError
from edge_agent.db.outbox import Outbox

__all__ = ["Database", "Outbox", "StoreError"]
