"""Central loyalty and payment services over MQTT (simulated, real protocol and semantics)."""
