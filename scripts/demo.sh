#!/usr/bin/env bash
# Quick start, command 1: set everything up, load the Berlin sample and serve it on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/assetmap load-sample
# Map views never compute: the demo's gap map shows the run made here (reused while the data is unchanged).
echo "computing the childcare gap analysis for the demo map"
.venv/bin/assetmap analyse --city Berlin --service childcare --top 3
echo "and the same analysis on foot, on the sample's street network"
.venv/bin/assetmap analyse --city Berlin --service childcare --distance network --top 3
HOST="${ASSETMAP_HOST:-127.0.0.1}"
PORT="${ASSETMAP_PORT:-8000}"
cat <<MSG

assetmap is starting with the Berlin sample. Open:
  http://$HOST:$PORT/                         start page
  http://$HOST:$PORT/maps/gaps?city=Berlin&service=childcare   childcare gap map
  http://$HOST:$PORT/maps/gaps?city=Berlin&service=childcare&distance=network   the same on foot: where the straight line misleads
  http://$HOST:$PORT/docs                     the API
  http://$HOST:$PORT/api/assets?city=Berlin&category=institution&limit=5
Sign in with one of the demo accounts above. Stop with Ctrl-C.

MSG
exec .venv/bin/assetmap serve --host "$HOST" --port "$PORT"
