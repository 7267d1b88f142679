"""MQTT sync with central (docs/mqtt.md): envelope, topics, outbox publisher, requests, status."""
