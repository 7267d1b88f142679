"""Age documents: a shopper proves age without staff (docs/compliance.md).

``token.py`` reads and checks a document's QR (pure); ``backend.py`` is what every age-document
service answers (``AgeDecision``); one file per service (``max_id.py``: the digital ID in MAX,
ПП №148, accepted from 1 Sep 2026); ``registry.py`` builds the configured one from ``[age]``.
A new document service is a file here, its simulator in ``sim/`` and its line in
``registry.SERVICES``.
"""

from edge_agent.age.backend import AgeBackend, AgeDecision

__all__ = ["AgeBackend", "AgeDecision"]
