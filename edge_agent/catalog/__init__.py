"""The store's catalogue and received mark codes: what the store keeps (``records.py``) and the
file it starts with until central sends its own (``seed.py``)."""
