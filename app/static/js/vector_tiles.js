// Vector-tile layers of the organiser map, used once a city's layer is larger than the server's threshold
// (ASSETMAP_VECTOR_TILES_THRESHOLD): the features come as Mapbox Vector Tiles from /tiles/{collection}/{z}/{x}/{y}.mvt,
// drawn by Leaflet.VectorGrid on canvas, instead of GeoJSON pages from the API. The tile URLs carry the data
// version (?v=); after a change the page asks tilejson.json for the new version and redraws.
/* global L */
import { api } from "./common.js";

// How many tile features were drawn, per layer: the page reports it in data-tile-features (tests read it).
const drawn = {};

function count(root, layer) {
  drawn[layer] = (drawn[layer] || 0) + 1;
  root.dataset.tileFeatures = JSON.stringify(drawn);
}

// A VectorGrid layer of one collection; `style(properties)` gives Leaflet path options. The layer takes no clicks
// (VectorGrid 1.3's canvas clicks do not work with Leaflet 1.9): the page finds what was clicked with entryAt.
export function tileLayer(root, spec, { pane, style }) {
  const layerName = spec.layer;
  const options = {
    pane: pane || "overlayPane",
    rendererFactory: L.canvas.tile,
    interactive: false,
    maxNativeZoom: 19,
    getFeatureId: (feature) => feature.id,
    vectorTileLayerStyles: {
      [layerName]: (properties) => {
        count(root, layerName);
        const options = style(properties);
        return { ...options, fill: true };
      },
    },
  };
  const layer = L.vectorGrid.protobuf(spec.url, options);
  layer.assetmapSpec = { ...spec };
  return layer;
}

// Ask for the collection's current data version; if it moved, point the layer at the new URL (a redraw).
export async function refresh(layer) {
  const spec = layer.assetmapSpec;
  const { data } = await api("GET", "/tiles/" + encodeURIComponent(spec.collection) + "/tilejson.json");
  if (data.tiles && data.tiles[0] && data.tiles[0] !== spec.url) {
    spec.url = data.tiles[0];
    layer.setUrl(spec.url);
  }
}

// The published entry of `kinds` drawn at a map point (within a few pixels), asked of the API by bounding box: a
// click on a tile feature opens the entry like a click on a GeoJSON one. Null when there is none.
export async function entryAt(map, latlng, cityId, kinds) {
  const point = map.latLngToContainerPoint(latlng);
  const reach = 8;
  const sw = map.containerPointToLatLng([point.x - reach, point.y + reach]);
  const ne = map.containerPointToLatLng([point.x + reach, point.y - reach]);
  const bbox = [sw.lng, sw.lat, ne.lng, ne.lat].map((v) => v.toFixed(6)).join(",");
  for (const kind of kinds) {
    const params = new URLSearchParams({ city: String(cityId), bbox, limit: "1" });
    const { data } = await api("GET", "/api/" + kind + "?" + params);
    if (data.features.length) {
      return { kind, id: data.features[0].id };
    }
  }
  return null;
}
