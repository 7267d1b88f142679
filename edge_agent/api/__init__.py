"""The HTTP surface (docs/api.md): FastAPI, one router per audience (kiosk, staff, public
product page, ops); the app is built in ``api/app.py``. This package imports nothing heavy,
so a daemon with ``http.enabled = false`` never loads FastAPI."""
