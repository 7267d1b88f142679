"""ЕГАИС for stamped strong alcohol (law-2026.md §4; docs/fiscal.md): the excise stamp read at
the lane (``stamp.py``, pure), the cheque the store's УТМ accepts before the fiscal receipt and
its answer (``cheque.py``, pure), the УТМ's HTTP client (``utm.py``) and the lane's sale of
stamped bottles through it, crash-safe (``sales.py``)."""
