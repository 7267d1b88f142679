"""Fiscal receipts on the lane's ККТ (docs/fiscal.md).

``receipt`` and ``marks`` are pure (basket → ATOL JSON tasks; the ККТ's mark-code check
results); ``register`` is the interface a register driver implements and its typed errors;
``atol`` drives ATOL's Web-server over HTTP; ``desk`` is a lane's register as the daemon uses
it (validation while scanning, shifts, health).
"""
