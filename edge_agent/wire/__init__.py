"""Wire formats, pure and in one place (docs/adr/0010-wire-formats-below-store-and-sync.md):
the CloudEvents envelope, the MQTT topic layout, the event types of basket commands, the
posted transaction and the EPCIS document. Both ``store.py`` (which writes them to the
outbox) and ``sync/`` (which moves them) import this package; it imports neither."""
