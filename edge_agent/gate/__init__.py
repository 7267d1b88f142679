"""Exit gates: the pure rules (``rules.py``: direction, alarm or silence) and the daemon's
shell around them (``gates.py``: reads in, alarms out to the store, staff, MQTT and the
reader's GPO)."""

from edge_agent.gate.rules import CLONED, UNPAID, Crossing, Crossings, Item, judge, ours, tid_matches

__all__ = ["CLONED", "UNPAID", "Crossing", "Crossings", "Item", "judge", "ours", "tid_matches"]
