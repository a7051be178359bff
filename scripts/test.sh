#!/usr/bin/env bash
# Quick start, command 2: set everything up (Chromium, QGIS and GDAL's tools included) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser --with-qgis
exec .venv/bin/python -m pytest "$@"
