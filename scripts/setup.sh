#!/usr/bin/env bash
# Set up assetmap on a Debian/Ubuntu machine: system packages that are missing, a virtualenv with the project,
# browser libraries from the npm registry, and a local PostGIS database migrated to the newest schema.
# Safe to run again. Usage: scripts/setup.sh [--with-browser] [--with-gdal]
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_BROWSER=0
WITH_GDAL=0
WITH_QGIS=0  # QGIS headless for tests/app/test_tiles_qgis.py (system python3)
for arg in "$@"; do
  case "$arg" in
    --with-browser) WITH_BROWSER=1 ;;
    --with-gdal) WITH_GDAL=1 ;;
    --with-qgis) WITH_QGIS=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="__none__"; fi
fi

apt_missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || apt_missing+=("$1"); }
have() { command -v "$1" >/dev/null 2>&1; }

PYTHON="${PYTHON:-python3}"
if ! have "$PYTHON" || ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  need_pkg python3; need_pkg python3-venv
elif ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  need_pkg python3-venv
fi
have node || need_pkg nodejs
have npm || need_pkg npm
have psql || need_pkg postgresql-client
[ "$WITH_BROWSER" = 1 ] && { have chromium || need_pkg chromium; }
[ "$WITH_GDAL" = 1 ] && { have ogr2ogr || need_pkg gdal-bin; }
[ "$WITH_QGIS" = 1 ] && { need_pkg qgis; need_pkg python3-qgis; }

if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$SUDO" = "__none__" ]; then
    echo "missing system packages: ${apt_missing[*]}; install them as root, then run this again" >&2
    exit 1
  fi
  say "installing system packages: ${apt_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  say "creating the virtualenv in .venv"
  "$PYTHON" -m venv .venv
fi
say "installing assetmap and its dependencies into .venv"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q -e ".[test]"

say "installing browser libraries (Leaflet and friends) from the npm registry into app/static/vendor"
bash scripts/vendor_assets.sh

say "making sure the local PostGIS database exists"
if [ "$(id -u)" -ne 0 ] && [ "$SUDO" = "sudo" ]; then
  $SUDO env "PATH=$PATH" ${ASSETMAP_DATABASE_URL:+ASSETMAP_DATABASE_URL="$ASSETMAP_DATABASE_URL"} .venv/bin/assetmap db up
else
  .venv/bin/assetmap db up
fi
say "migrating the database"
.venv/bin/assetmap db upgrade
