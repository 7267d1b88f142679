"""СБП (the Faster Payments System): the customer scans the provider's QR with their bank's app;
the money is captured at once."""

from edge_agent.payment.method import PaymentMethod

METHOD = PaymentMethod(id="sbp", qr=True)
