#!/usr/bin/env bash
# Install the browser libraries of the map pages from the npm registry (exact versions in package-lock.json) and
# copy only the files the pages load into app/static/vendor/<lib>/. Safe to run again: the folder is rebuilt whole.
# The URLs that geo/render.py:use_local_assets() points folium at must match the layout written here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/app/static/vendor"
modules="$root/node_modules"

if ! command -v npm >/dev/null 2>&1; then
    echo "vendor_assets.sh: npm was not found on PATH. Install Node.js 18 or newer with npm" \
        "(Debian: apt-get install nodejs npm), then run scripts/vendor_assets.sh again." >&2
    exit 1
fi

cd "$root"
# --ignore-scripts: none of these packages needs an install script, so none is allowed to run.
if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --ignore-scripts
else
    echo "vendor_assets.sh: no package-lock.json, resolving versions with npm install" >&2
    npm install --no-audit --no-fund --ignore-scripts
fi

# Build into a fresh folder and swap it in at the end, so an interrupted run never leaves half a vendor tree.
mkdir -p "$root/app/static"
staging="$(mktemp -d "$root/app/static/.vendor.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

# put PACKAGE SOURCE_PATH TARGET_PATH: copy node_modules/PACKAGE/SOURCE_PATH to vendor/TARGET_PATH.
put() {
    local source="$modules/$1/$2"
    if [[ ! -f "$source" ]]; then
        echo "vendor_assets.sh: expected $1/$2 in node_modules but it is missing;" \
            "has the version in package.json changed its file layout?" >&2
        exit 1
    fi
    install -D -m 0644 "$source" "$staging/$3"
}

put leaflet dist/leaflet.js leaflet/leaflet.js
put leaflet dist/leaflet.css leaflet/leaflet.css
for image in layers.png layers-2x.png marker-icon.png marker-icon-2x.png marker-shadow.png; do
    put leaflet "dist/images/$image" "leaflet/images/$image"
done
put leaflet LICENSE leaflet/LICENSE

put leaflet.markercluster dist/leaflet.markercluster.js leaflet.markercluster/leaflet.markercluster.js
put leaflet.markercluster dist/MarkerCluster.css leaflet.markercluster/MarkerCluster.css
put leaflet.markercluster dist/MarkerCluster.Default.css leaflet.markercluster/MarkerCluster.Default.css
put leaflet.markercluster MIT-LICENCE.txt leaflet.markercluster/LICENSE

put leaflet.fullscreen Control.FullScreen.js leaflet.fullscreen/Control.FullScreen.js
put leaflet.fullscreen Control.FullScreen.css leaflet.fullscreen/Control.FullScreen.css
put leaflet.fullscreen icon-fullscreen.svg leaflet.fullscreen/icon-fullscreen.svg
put leaflet.fullscreen LICENSE.md leaflet.fullscreen/LICENSE

put jquery dist/jquery.min.js jquery/jquery.min.js
put jquery LICENSE.txt jquery/LICENSE

put bootstrap dist/js/bootstrap.bundle.min.js bootstrap/js/bootstrap.bundle.min.js
put bootstrap dist/css/bootstrap.min.css bootstrap/css/bootstrap.min.css
put bootstrap LICENSE bootstrap/LICENSE

put leaflet.awesome-markers dist/leaflet.awesome-markers.js leaflet.awesome-markers/leaflet.awesome-markers.js
put leaflet.awesome-markers dist/leaflet.awesome-markers.css leaflet.awesome-markers/leaflet.awesome-markers.css
for image in markers-soft.png markers-soft@2x.png markers-shadow.png markers-shadow@2x.png; do
    put leaflet.awesome-markers "dist/images/$image" "leaflet.awesome-markers/images/$image"
done
put leaflet.awesome-markers LICENSE leaflet.awesome-markers/LICENSE

put @fortawesome/fontawesome-free css/all.min.css fontawesome-free/css/all.min.css
for font in fa-brands-400 fa-regular-400 fa-solid-900 fa-v4compatibility; do
    for kind in woff2 ttf; do
        put @fortawesome/fontawesome-free "webfonts/$font.$kind" "fontawesome-free/webfonts/$font.$kind"
    done
done
put @fortawesome/fontawesome-free LICENSE.txt fontawesome-free/LICENSE

# The glyphicon rules of Bootstrap 3 alone (folium's Map loads them); the CSS finds its fonts in ../fonts/.
put glyphicons-only-bootstrap css/bootstrap.min.css glyphicons/css/glyphicons.min.css
for kind in eot svg ttf woff woff2; do
    put glyphicons-only-bootstrap "fonts/glyphicons-halflings-regular.$kind" \
        "glyphicons/fonts/glyphicons-halflings-regular.$kind"
done

# Swagger UI for the API docs at /docs (FastAPI would load it from a CDN otherwise).
for file in swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE; do
    put swagger-ui-dist "$file" "swagger-ui/$file"
done

# Leaflet.VectorGrid draws the Mapbox Vector Tiles of large layers (app/static/js/vector_tiles.js); the bundled
# build carries its pbf and vector-tile dependencies. Its licence (Beerware) is stated in its package.json only.
put leaflet.vectorgrid dist/Leaflet.VectorGrid.bundled.min.js leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js
put leaflet.vectorgrid package.json leaflet.vectorgrid/package.json

# Record what was copied, so a stale vendor folder is easy to spot.
{
    echo "# written by scripts/vendor_assets.sh from package-lock.json; do not edit"
    for package in leaflet leaflet.markercluster leaflet.fullscreen jquery bootstrap leaflet.awesome-markers \
        @fortawesome/fontawesome-free glyphicons-only-bootstrap swagger-ui-dist leaflet.vectorgrid; do
        version="$(node -p "require('$modules/$package/package.json').version")"
        echo "$package@$version"
    done
} >"$staging/VERSIONS.txt"

rm -rf "$vendor"
mv "$staging" "$vendor"
chmod 0755 "$vendor"
trap - EXIT
echo "vendor_assets.sh: copied $(find "$vendor" -type f | wc -l) files into ${vendor#"$root"/}"
