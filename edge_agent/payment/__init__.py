"""Payment and loyalty at the edge: the checkout flow that talks to central over MQTT
(``flow.py``, around the pure ``steps.py``), returns (``returns.py``, ``return_plan.py``), what
they keep (``records.py``) and the sale's events for central (``sale.py``). Import the modules
themselves: this package loads no MQTT client until the checkout is built."""
