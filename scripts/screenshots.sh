#!/usr/bin/env bash
# The README's screenshots, taken by the browser tests in Debian's Chromium (test-artifacts/)
# and copied to docs/screenshots/. Run: make screenshots
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pytest -q tests/e2e/test_kiosk_touch.py tests/e2e/test_attendant.py tests/e2e/test_kiosk_trouble.py \
  tests/e2e/test_kiosk_prices.py
for name in kiosk-ru-01-welcome kiosk-ru-02-items kiosk-en-07-sbp kiosk-ru-08-receipt attendant-queue staff-dashboard \
  trouble-ru-payments-down trouble-en-paper-out-while-printing trouble-ru-portrait-offline prices-ru-receipt \
  attendant-alarm-storm kiosk-ru-portrait-long-basket; do
  cp "test-artifacts/$name.png" "docs/screenshots/$name.png"
done
echo "docs/screenshots/ updated"
