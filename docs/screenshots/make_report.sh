#!/usr/bin/env bash
# Regenerate the site-check panel and 选址分析报告 PDF screenshots kept here (issue 18).
# Runs the real-browser walk (chromium, pdftotext, pdftoppm needed), which writes them to
# artifacts/screenshots/ (the CI artifacts), then copies them into docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PLANMAP_REQUIRE_EXTERNAL=1 python -m pytest tests/browser/test_report_browser.py -q -p no:cacheprovider
rm -f docs/screenshots/report_panel_*.png docs/screenshots/report_pdf_*.png
cp artifacts/screenshots/report_panel_*.png artifacts/screenshots/report_pdf_*.png docs/screenshots/
ls -l docs/screenshots/
