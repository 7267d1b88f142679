"""Who may do what (docs/security.md): PINs under a slow salted KDF, throttling and lockout,
device credentials for kiosks and handhelds, placeholder secrets, TLS certificates."""
