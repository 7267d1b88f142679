"""A bank card on the lane's terminal: authorised, then captured once the receipt is printed."""

from edge_agent.payment.method import PaymentMethod

METHOD = PaymentMethod(id="card")
