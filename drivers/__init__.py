"""Reader drivers, one file per reader family, one ``Reader`` interface (``drivers/base.py``)."""
