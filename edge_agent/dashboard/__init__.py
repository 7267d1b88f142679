"""The store manager's dashboard: its figures and charts (``figures.py``, pure) and what they
are read from (``records.py``: the baskets' journals, the verdicts, the health log)."""

from edge_agent.dashboard.figures import BasketRecord, availability, charts, figures, health_changes, percentile

__all__ = ["BasketRecord", "availability", "charts", "figures", "health_changes", "percentile"]
