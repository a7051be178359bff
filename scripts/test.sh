#!/usr/bin/env bash
# Quick start, command 2: set everything up (Chromium, QGIS and GDAL's tools included) and run the whole test suite.
# The suite is spread over this machine's cores (at most 4 workers) by pytest-xdist; ASSETMAP_TEST_WORKERS sets
# the number of workers, and ASSETMAP_TEST_WORKERS=0 runs everything in this one process. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${ASSETMAP_TEST_WORKERS:-}
if [[ -z $workers ]]; then
  cores=$(nproc 2>/dev/null || echo 1)
  workers=$((cores < 4 ? cores : 4))
elif ! [[ $workers =~ ^[0-9]+$ ]]; then
  echo "ASSETMAP_TEST_WORKERS must be a whole number of workers (0: one process), not '$workers'" >&2
  exit 2
fi
bash scripts/setup.sh --with-browser --with-qgis
exec .venv/bin/python -m pytest -n "$workers" "$@"
