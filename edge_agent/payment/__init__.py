"""Payment and loyalty at the edge: the checkout flow that talks to central over MQTT."""

from edge_agent.payment.flow import Checkout, PaymentOutcome

__all__ = ["Checkout", "PaymentOutcome"]
