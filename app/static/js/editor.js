// The organiser's map: published and pending assets and needs from the API; click the map to place a new one,
// click an entry to change, move (drag the pin) or delete it. Every change goes through the JSON API with the
// bearer token; the API's validation messages are shown next to the fields they concern.
/* global L */
import { ApiError, api, currentUser, describeError, el, label, setText, showViewer } from "./common.js";
import { entryAt, refresh, tileLayer } from "./vector_tiles.js";

const root = document.getElementById("editor");
const CITY_ID = Number(root.dataset.cityId);
const MIN_ZOOM_FOR_ENTRIES = 12;
const PAGE_SIZE = 1000;
const MAX_PAGES = 3; // per layer and view: beyond this the page asks to zoom in
const LIST_LIMIT = 150;
// The same colours as the folium maps (geo.render), handed over by the page.
const COLOURS = JSON.parse(root.dataset.colours || "{}");
// Layers too large for GeoJSON pages (more features than the server's threshold) come as vector tiles.
const VECTOR = JSON.parse(root.dataset.vectorTiles || "{}");
const tileLayers = [];

const form = document.getElementById("entry-form");
const panel = document.getElementById("panel");
const notice = document.getElementById("notice");
const authNotice = document.getElementById("auth-notice");
const formError = document.getElementById("form-error");
const locationText = document.getElementById("location-text");
const locationHint = document.getElementById("location-hint");
const deleteButton = document.getElementById("delete-button");
const reloadButton = document.getElementById("reload-button");
const saveButton = document.getElementById("save-button");
const fieldsets = { assets: document.getElementById("asset-fields"), needs: document.getElementById("need-fields") };

const state = {
  user: null,
  serviceNames: new Map(), // slug -> name
  entries: new Map(), // "assets:12" -> {kind, feature, layer, pending}
  mode: null, // "new" | "edit" | null
  kind: "assets",
  selected: null, // {kind, id, etag, feature}
  location: null, // L.LatLng of the entry in the form
  moved: false,
  handle: null, // the draggable pin
  confirmDelete: null,
  loadController: null,
};

// ---------------------------------------------------------------- map

const map = L.map("map", { minZoom: 3, maxZoom: 19, zoomControl: true });
if (root.dataset.tilesUrl) {
  // The attribution is deployment configuration (it may hold a link), not community text.
  L.tileLayer(root.dataset.tilesUrl, { attribution: root.dataset.tilesAttribution, maxZoom: 19 }).addTo(map);
}
// Neighbourhood outlines sit under the entries and never take clicks: a click always places or selects.
map.createPane("outlines").style.zIndex = "350";
const outlineLayer = L.featureGroup().addTo(map);
const publishedLayer = L.featureGroup().addTo(map);
const pendingLayer = L.featureGroup().addTo(map);

function initialView() {
  const params = new URLSearchParams(window.location.search);
  const lat = Number(params.get("lat"));
  const lon = Number(params.get("lon"));
  const zoom = Number(params.get("zoom") || 16);
  if (params.has("lat") && params.has("lon") && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && zoom >= 3 && zoom <= 19) {
    map.setView([lat, lon], zoom);
    return;
  }
  const bounds = (root.dataset.bounds || "").split(",").map(Number);
  if (bounds.length === 4 && bounds.every(Number.isFinite)) {
    map.fitBounds([
      [bounds[1], bounds[0]],
      [bounds[3], bounds[2]],
    ]);
  } else {
    map.setView([20, 0], 3);
  }
}

function say(text) {
  notice.textContent = text;
}

function styleFor(kind, props, pending) {
  const colour = (kind === "assets" ? COLOURS[props.category] : COLOURS.need) || "#575757";
  const classes = ["assetmap-entry", kind === "assets" ? "assetmap-asset" : "assetmap-need"];
  if (pending) {
    classes.push("assetmap-pending");
  }
  return {
    radius: kind === "assets" ? 7 : 8,
    color: kind === "assets" ? "#222" : "#7f2704",
    weight: 1.5,
    fillColor: colour,
    fillOpacity: 0.85,
    className: classes.join(" "),
    bubblingMouseEvents: false,
  };
}

function entryText(kind, props) {
  if (kind === "assets") {
    return props.name || "(unnamed)";
  }
  const service = state.serviceNames.get(props.service_type) || label(props.service_type);
  let text = service + " need";
  if (props.people_affected !== null && props.people_affected !== undefined) {
    text += ", " + props.people_affected + " people";
  }
  if (props.description) {
    text += ": " + String(props.description).slice(0, 80);
  }
  return text;
}

function entryTag(kind, props) {
  const parts = [kind === "assets" ? label(props.category) : "need"];
  if (props.status && props.status !== "approved") {
    parts.push(props.status);
  }
  if (props.location_blurred) {
    parts.push("location blurred");
  }
  return parts.join(", ");
}

function removeEntry(key) {
  const entry = state.entries.get(key);
  if (entry) {
    entry.layer.remove();
    state.entries.delete(key);
  }
}

function drawEntry(kind, feature) {
  const key = kind + ":" + feature.id;
  removeEntry(key);
  const props = feature.properties || {};
  const pending = props.status && props.status !== "approved";
  const style = styleFor(kind, props, pending);
  let layer;
  if (feature.geometry && feature.geometry.type === "Point") {
    const [lon, lat] = feature.geometry.coordinates;
    layer = L.circleMarker([lat, lon], style);
  } else {
    layer = L.geoJSON(feature, { style: () => style, className: style.className, bubblingMouseEvents: false });
  }
  // A DOM node, not a string: Leaflet would parse a string as HTML.
  layer.bindTooltip(el("span", { className: "assetmap-tooltip-text", text: entryText(kind, props) }), {
    direction: "top",
  });
  layer.on("click", (event) => {
    L.DomEvent.stopPropagation(event);
    selectEntry(kind, feature.id);
  });
  (pending ? pendingLayer : publishedLayer).addLayer(layer);
  const element = layer.getElement ? layer.getElement() : null;
  if (element) {
    element.setAttribute("data-entry", key);
  }
  state.entries.set(key, { kind, feature, layer, pending });
  return layer;
}

function listItem(kind, feature) {
  const props = feature.properties || {};
  const button = el(
    "button",
    { type: "button", "data-entry": kind + ":" + feature.id },
    entryText(kind, props),
    el("span", { className: "tag", text: entryTag(kind, props) }),
  );
  button.addEventListener("click", () => selectEntry(kind, feature.id, true));
  return el("li", {}, button);
}

/** Show a saved entry in the "In view" list at once: replace its line, or add it on top. */
function updateList(kind, feature, created) {
  const key = kind + ":" + feature.id;
  const lines = document.querySelectorAll('#entry-list button[data-entry="' + key + '"]');
  for (const line of lines) {
    line.parentElement.replaceWith(listItem(kind, feature));
  }
  if (!lines.length && created) {
    document.getElementById("entry-list").prepend(listItem(kind, feature));
  }
}

// ---------------------------------------------------------------- loading

function bboxParam() {
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  return [
    clamp(b.getWest(), -180, 180),
    clamp(b.getSouth(), -90, 90),
    clamp(b.getEast(), -180, 180),
    clamp(b.getNorth(), -90, 90),
  ]
    .map((v) => v.toFixed(6))
    .join(",");
}

// The first page only: what the list shows when the map itself is drawn from vector tiles.
async function fetchList(path, params, signal) {
  const url = path + "?" + new URLSearchParams({ ...params, limit: String(LIST_LIMIT) }).toString();
  const { data } = await api("GET", url, { signal });
  return { features: data.features, truncated: Boolean(data.next) };
}

async function fetchAll(path, params, signal) {
  let url = path + "?" + new URLSearchParams(params).toString();
  const features = [];
  for (let page = 0; page < MAX_PAGES && url; page += 1) {
    const { data } = await api("GET", url, { signal });
    features.push(...data.features);
    const next = data.next ? new URL(data.next, window.location.href) : null;
    url = next && next.origin === window.location.origin ? next.pathname + next.search : null;
  }
  return { features, truncated: Boolean(url) };
}

async function loadView() {
  if (state.loadController) {
    state.loadController.abort();
  }
  root.dataset.loading = "true";
  const list = document.getElementById("entry-list");
  const count = document.getElementById("view-count");
  if (map.getZoom() < MIN_ZOOM_FOR_ENTRIES) {
    for (const [key, entry] of [...state.entries]) {
      if (!entry.pending && !isSelected(key)) {
        removeEntry(key);
      }
    }
    list.replaceChildren();
    count.textContent = "Zoom in to see entries and to place new ones.";
    root.dataset.loading = "false";
    return;
  }
  const controller = new AbortController();
  state.loadController = controller;
  const params = { city: String(CITY_ID), bbox: bboxParam(), limit: String(PAGE_SIZE) };
  count.textContent = "Loading\u2026";
  try {
    const [assets, needs] = await Promise.all([
      (VECTOR.assets ? fetchList : fetchAll)("/api/assets", params, controller.signal),
      (VECTOR.needs ? fetchList : fetchAll)("/api/needs", params, controller.signal),
    ]);
    // Entries already drawn in the same version stay as they are (no flicker, open tooltips stay open).
    const inView = new Set();
    const items = [];
    for (const [kind, result] of [
      ["assets", assets],
      ["needs", needs],
    ]) {
      for (const feature of result.features) {
        const key = kind + ":" + feature.id;
        inView.add(key);
        items.push([kind, feature]);
        const drawn = state.entries.get(key);
        const same = drawn && !drawn.pending && drawn.feature.properties.version === feature.properties.version;
        if (!same && !isSelected(key) && !VECTOR[kind]) {
          drawEntry(kind, feature); // the entry being edited stays as the user left it
        }
      }
    }
    for (const [key, entry] of [...state.entries]) {
      if (!entry.pending && !isSelected(key) && !inView.has(key)) {
        removeEntry(key);
      }
    }
    items.sort((a, b) => entryText(a[0], a[1].properties).localeCompare(entryText(b[0], b[1].properties)));
    list.replaceChildren(...items.slice(0, LIST_LIMIT).map(([kind, feature]) => listItem(kind, feature)));
    let text = assets.features.length + " assets and " + needs.features.length + " needs in view";
    if (assets.truncated || needs.truncated) {
      text += " (not all shown: zoom in)";
    } else if (items.length > LIST_LIMIT) {
      text += " (the list shows " + LIST_LIMIT + ": zoom in for the rest)";
    }
    count.textContent = text + ".";
  } catch (err) {
    if (err && err.name === "AbortError") {
      return; // a newer load is under way
    }
    count.textContent = describeError(err);
  }
  root.dataset.loading = "false";
}

async function loadPending() {
  const section = document.getElementById("pending-section");
  const list = document.getElementById("pending-list");
  for (const [key, entry] of [...state.entries]) {
    if (entry.pending && !isSelected(key)) {
      removeEntry(key);
    }
  }
  if (!state.user) {
    section.hidden = true;
    return;
  }
  const params = { city: String(CITY_ID), status: "pending", limit: "200" };
  try {
    const [assets, needs] = await Promise.all([
      api("GET", "/api/assets?" + new URLSearchParams(params)),
      api("GET", "/api/needs?" + new URLSearchParams(params)),
    ]);
    const items = [];
    for (const [kind, result] of [
      ["assets", assets.data],
      ["needs", needs.data],
    ]) {
      for (const feature of result.features) {
        drawEntry(kind, feature);
        items.push(listItem(kind, feature));
      }
    }
    list.replaceChildren(...items);
    section.hidden = items.length === 0;
  } catch (err) {
    section.hidden = false;
    list.replaceChildren(el("li", { className: "muted", text: describeError(err) }));
  }
}

let moveTimer = null;
function onMoveEnd() {
  root.dataset.loading = "true";
  window.clearTimeout(moveTimer);
  moveTimer = window.setTimeout(loadView, 200);
}

// ---------------------------------------------------------------- the form

function isSelected(key) {
  return state.selected !== null && state.selected.kind + ":" + state.selected.id === key;
}

function setKind(kind) {
  state.kind = kind;
  for (const [name, fieldset] of Object.entries(fieldsets)) {
    const active = name === kind;
    fieldset.hidden = !active;
    fieldset.disabled = !active;
  }
  for (const radio of form.querySelectorAll("input[name=kind]")) {
    radio.checked = radio.value === kind;
  }
}

function clearErrors() {
  formError.textContent = "";
  for (const node of form.querySelectorAll(".field-error")) {
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
  }
  reloadButton.hidden = true;
}

function showLocation() {
  if (!state.location) {
    locationText.textContent = "";
    return;
  }
  locationText.textContent = state.location.lat.toFixed(5) + ", " + state.location.lng.toFixed(5);
}

function setHandle(latlng, draggable) {
  if (state.handle) {
    state.handle.remove();
    state.handle = null;
  }
  if (!latlng) {
    return;
  }
  state.handle = L.marker(latlng, {
    draggable,
    autoPan: true,
    keyboard: true,
    title: draggable ? "Drag to move this entry" : "Selected entry",
    alt: "Selected entry",
    zIndexOffset: 1000,
  }).addTo(map);
  state.handle.on("dragend", () => {
    state.location = state.handle.getLatLng();
    state.moved = true;
    showLocation();
    locationHint.textContent = state.mode === "edit" ? "(moved: save to keep the new place)" : "";
  });
}

function fillServiceChecks(selected) {
  const chosen = new Set(selected || []);
  for (const box of form.querySelectorAll("input[name=service_types]")) {
    box.checked = chosen.has(box.value);
  }
}

function fillForm(kind, props) {
  if (kind === "assets") {
    document.getElementById("asset-name").value = props.name || "";
    document.getElementById("asset-category").value = props.category || "association";
    fillServiceChecks(props.service_types);
    document.getElementById("asset-description").value = props.description || "";
    document.getElementById("asset-capacity").value =
      props.capacity === null || props.capacity === undefined ? "" : String(props.capacity);
  } else {
    const select = document.getElementById("need-service-type");
    if (props.service_type) {
      select.value = props.service_type;
    }
    document.getElementById("need-people").value =
      props.people_affected === null || props.people_affected === undefined ? "" : String(props.people_affected);
    document.getElementById("need-severity").value = String(props.severity || 3);
    document.getElementById("need-source").value = props.source || "";
    document.getElementById("need-description").value = props.description || "";
  }
}

function mayWrite() {
  return Boolean(state.user && ["admin", "gis", "organiser", "contributor"].includes(state.user.role));
}

function openForm(mode, kind) {
  state.mode = mode;
  clearErrors();
  setKind(kind);
  state.confirmDelete = null;
  deleteButton.textContent = "Delete";
  document.getElementById("kind-choice").hidden = mode !== "new";
  deleteButton.hidden = mode !== "edit";
  const singular = kind === "assets" ? "asset" : "need";
  document.getElementById("form-title").textContent = mode === "new" ? "New entry" : "Edit " + singular;
  saveButton.disabled = !mayWrite();
  deleteButton.disabled = !mayWrite();
  if (!mayWrite()) {
    formError.textContent = state.user
      ? "Your role (" + state.user.role + ") may read entries but not change them."
      : "Sign in to change entries.";
  }
  form.hidden = false;
  panel.classList.add("sheet-open");
  showLocation();
  keepPinVisible();
}

/** On a phone the form is a sheet over the lower map: pan so the entry stays visible above it. */
function keepPinVisible() {
  if (!state.location || window.getComputedStyle(panel).position !== "absolute") {
    return;
  }
  const mapBox = map.getContainer().getBoundingClientRect();
  const visible = panel.getBoundingClientRect().top - mapBox.top;
  const point = map.latLngToContainerPoint(state.location);
  if (visible > 80 && (point.y > visible - 40 || point.y < 40)) {
    map.panBy([0, point.y - visible / 2], { animate: false });
  }
}

function closeForm() {
  form.hidden = true;
  panel.classList.remove("sheet-open");
  state.mode = null;
  state.selected = null;
  state.location = null;
  state.moved = false;
  setHandle(null);
}

function startNew(latlng) {
  closeForm();
  state.location = latlng;
  state.moved = false;
  setHandle(latlng, true);
  openForm("new", state.kind);
  fillForm("assets", {});
  fillForm("needs", {});
  locationHint.textContent = "(drag the pin to adjust)";
  say("");
  const first = state.kind === "assets" ? document.getElementById("asset-name") : document.getElementById("need-service-type");
  first.focus({ preventScroll: true });
}

async function selectEntry(kind, id, pan) {
  closeForm();
  try {
    const { data, etag } = await api("GET", "/api/" + kind + "/" + Number(id));
    showSelected(kind, data, etag, pan);
  } catch (err) {
    say(describeError(err));
  }
}

function showSelected(kind, feature, etag, pan) {
  state.selected = { kind, id: feature.id, etag, feature };
  const props = feature.properties || {};
  const layer = drawEntry(kind, feature);
  const point = feature.geometry && feature.geometry.type === "Point";
  state.location = point ? L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]) : null;
  state.moved = false;
  openForm("edit", kind);
  fillForm(kind, props);
  const movable = point && !props.location_blurred && mayWrite();
  setHandle(state.location || (layer.getBounds ? layer.getBounds().getCenter() : null), movable);
  if (props.location_blurred) {
    locationHint.textContent = "(shown blurred: the exact place of people and sensitive assets is not shown to you)";
  } else if (!point) {
    locationHint.textContent = "(an area: move it through the API or an import)";
  } else {
    locationHint.textContent = movable ? "(drag the pin to move)" : "";
  }
  if (!state.location && layer.getBounds) {
    locationText.textContent = "an area";
  }
  if (pan && state.handle) {
    map.panTo(state.handle.getLatLng());
  }
  say(props.status && props.status !== "approved" ? "This entry is " + props.status + "." : "");
}

function numberOrNull(input) {
  if (input.validity && input.validity.badInput) {
    return { bad: true };
  }
  const text = input.value.trim();
  return { value: text === "" ? null : Number(text) };
}

function textOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : input.value;
}

function geometry() {
  return {
    type: "Point",
    coordinates: [Number(state.location.lng.toFixed(6)), Number(state.location.lat.toFixed(6))],
  };
}

/** The request body for the form's kind; {errors} for values the browser itself could not read. */
function collect() {
  const creating = state.mode === "new";
  const body = {};
  const errors = [];
  if (state.kind === "assets") {
    body.name = document.getElementById("asset-name").value;
    body.category = document.getElementById("asset-category").value;
    body.service_types = [...form.querySelectorAll("input[name=service_types]:checked")].map((b) => b.value);
    body.description = textOrNull(document.getElementById("asset-description"));
    const capacity = numberOrNull(document.getElementById("asset-capacity"));
    if (capacity.bad) {
      errors.push({ field: "capacity", problem: "enter a number, or leave it empty if unknown" });
    }
    body.capacity = capacity.value;
  } else {
    body.service_type = document.getElementById("need-service-type").value;
    const people = numberOrNull(document.getElementById("need-people"));
    if (people.bad) {
      errors.push({ field: "people_affected", problem: "enter a whole number, or leave it empty" });
    }
    body.people_affected = people.value;
    body.severity = Number(document.getElementById("need-severity").value);
    body.source = document.getElementById("need-source").value || null;
    body.description = textOrNull(document.getElementById("need-description"));
  }
  if (creating) {
    body.city = CITY_ID;
    body.geometry = geometry();
    for (const key of Object.keys(body)) {
      if (body[key] === null) {
        delete body[key]; // unset on creation; null on a change clears the value
      }
    }
  } else if (state.moved && state.location) {
    body.geometry = geometry();
  }
  return { body, errors };
}

function fieldError(field, problem) {
  const prefix = state.kind === "assets" ? "asset" : "need";
  const top = String(field || "").split(".")[0];
  const target = top === "geometry" ? document.getElementById("geometry-error") : document.getElementById(prefix + "-" + top + "-error");
  if (!top || !target) {
    return false;
  }
  target.textContent = problem;
  const input = fieldsets[state.kind].querySelector('[name="' + CSS.escape(top) + '"]');
  if (input) {
    input.setAttribute("aria-invalid", "true");
  }
  return true;
}

function showErrors(list, fallback) {
  const unplaced = [];
  for (const item of list) {
    if (!fieldError(item.field, item.problem)) {
      unplaced.push((item.field ? item.field + ": " : "") + item.problem);
    }
  }
  if (unplaced.length) {
    formError.textContent = unplaced.join("; ");
  } else if (!list.length) {
    formError.textContent = fallback;
  } else {
    formError.textContent = "Please correct the marked field" + (list.length > 1 ? "s" : "") + ".";
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) {
    first.focus({ preventScroll: false });
  }
}

function showFailure(err) {
  if (err instanceof ApiError && err.status === 422) {
    const body = err.body || {};
    const list = Array.isArray(body.errors) && body.errors.length
      ? body.errors.map((e) => ({ field: e.field, problem: e.problem }))
      : [{ field: body.field, problem: body.detail || "invalid value" }];
    showErrors(list, body.detail || "invalid value");
    return;
  }
  if (err instanceof ApiError && err.status === 401) {
    setUser(null);
  }
  formError.textContent = describeError(err);
  reloadButton.hidden = !(err instanceof ApiError && err.status === 412);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  if (!state.location && state.mode === "new") {
    formError.textContent = "Click the map to choose where this entry is.";
    return;
  }
  const { body, errors } = collect();
  if (errors.length) {
    showErrors(errors, "");
    return;
  }
  const kind = state.kind;
  saveButton.disabled = true;
  try {
    let result;
    if (state.mode === "new") {
      result = await api("POST", "/api/" + kind, { json: body });
    } else {
      result = await api("PATCH", "/api/" + kind + "/" + Number(state.selected.id), {
        json: body,
        headers: { "If-Match": state.selected.etag },
      });
    }
    const feature = result.data;
    const created = state.mode === "new";
    state.selected = null;
    setHandle(null);
    showSelected(kind, feature, result.etag, false);
    const status = feature.properties && feature.properties.status;
    say(
      (created ? "Saved." : "Changes saved.") +
        (status === "pending" ? " It waits for review by an organiser of the neighbourhood." : ""),
    );
    if (status === "pending") {
      loadPending();
    } else {
      updateList(kind, feature, created);
      refreshTiles();
    }
  } catch (err) {
    showFailure(err);
  } finally {
    saveButton.disabled = !mayWrite();
  }
});

deleteButton.addEventListener("click", async () => {
  if (!state.selected) {
    return;
  }
  // Two presses instead of a confirm() dialog, which phones show awkwardly.
  if (state.confirmDelete !== state.selected.kind + ":" + state.selected.id) {
    state.confirmDelete = state.selected.kind + ":" + state.selected.id;
    deleteButton.textContent = "Press again to delete";
    return;
  }
  const { kind, id, etag } = state.selected;
  deleteButton.disabled = true;
  try {
    await api("DELETE", "/api/" + kind + "/" + Number(id), { headers: { "If-Match": etag } });
    const key = kind + ":" + id;
    state.selected = null;
    closeForm();
    removeEntry(key);
    for (const item of document.querySelectorAll('.entry-list button[data-entry="' + key + '"]')) {
      item.parentElement.remove();
    }
    say("Deleted.");
    refreshTiles();
  } catch (err) {
    showFailure(err);
  } finally {
    deleteButton.disabled = !mayWrite();
    deleteButton.textContent = "Delete";
    state.confirmDelete = null;
  }
});

reloadButton.addEventListener("click", async () => {
  if (!state.selected) {
    return;
  }
  const { kind, id } = state.selected;
  await selectEntry(kind, id, true);
  say("Reloaded: this is the current version. Make your change again.");
});

document.getElementById("cancel-button").addEventListener("click", () => {
  closeForm();
  say("");
});

for (const radio of form.querySelectorAll("input[name=kind]")) {
  radio.addEventListener("change", () => {
    if (radio.checked && state.mode === "new") {
      clearErrors();
      setKind(radio.value);
    }
  });
}

function placeAt(latlng) {
  if (!mayWrite()) {
    say(state.user ? "Your role (" + state.user.role + ") may read entries but not add them." : "Sign in to add entries.");
    return;
  }
  if (map.getZoom() < MIN_ZOOM_FOR_ENTRIES) {
    say("Zoom in closer to place an entry precisely.");
    return;
  }
  startNew(latlng);
}

map.on("click", async (event) => {
  // Entries drawn from vector tiles are not Leaflet layers: ask the API what lies under the click first.
  const tiled = ["assets", "needs"].filter((kind) => VECTOR[kind]);
  if (tiled.length) {
    try {
      const hit = await entryAt(map, event.latlng, CITY_ID, tiled);
      if (hit) {
        selectEntry(hit.kind, hit.id, false);
        return;
      }
    } catch (err) {
      say(describeError(err));
      return;
    }
  }
  placeAt(event.latlng);
});
// Without a pointer (keyboard, screen reader): place at the centre, then drag or use the map's arrow keys.
document.getElementById("add-here").addEventListener("click", () => placeAt(map.getCenter()));

document.getElementById("city-select").addEventListener("change", () => {
  document.getElementById("city-form").submit();
});

// ---------------------------------------------------------------- start

function setUser(user) {
  state.user = user;
  showViewer(user);
  if (user) {
    let text = "Signed in as " + user.username + " (" + user.role + "). ";
    if (user.role === "organiser") {
      text += "Click the map to add an asset or a need; you can change entries in your neighbourhoods.";
    } else if (user.role === "contributor") {
      text += "Click the map to propose an asset or a need; an organiser reviews it.";
    } else if (mayWrite()) {
      text += "Click the map to add an asset or a need.";
    } else {
      text += "Your role reads entries; it does not change them.";
    }
    setText(authNotice, text);
  } else {
    setText(
      authNotice,
      "You are not signed in: ",
      el("a", { href: "/?next=" + encodeURIComponent(window.location.pathname + window.location.search), text: "sign in" }),
      " to add or change entries.",
    );
  }
  if (!form.hidden) {
    saveButton.disabled = !mayWrite();
    deleteButton.disabled = !mayWrite();
  }
}

// Published assets and needs of a large city, drawn from vector tiles at every zoom; a click opens the entry.
function startTiles() {
  for (const kind of ["needs", "assets"]) {
    if (!VECTOR[kind]) {
      continue;
    }
    const layer = tileLayer(root, VECTOR[kind], {
      style: (props) => ({ ...styleFor(kind, props, false), radius: kind === "assets" ? 5 : 6 }),
    });
    layer.addTo(map);
    tileLayers.push(layer);
  }
}

// After a change the tiles' data version moves: point the tile layers at it.
function refreshTiles() {
  for (const layer of tileLayers) {
    refresh(layer).catch((err) => say(describeError(err)));
  }
}

async function loadOutlines() {
  if (VECTOR.neighbourhoods) {
    const mine = new Set((state.user && state.user.neighbourhood_ids) || []);
    const layer = tileLayer(root, VECTOR.neighbourhoods, {
      pane: "outlines",
      style: (props) =>
        mine.has(props.item_id)
          ? { color: "#8a5a00", weight: 2.5, fillColor: "#f2b632", fillOpacity: 0.12 }
          : { color: "#666", weight: 1, fillColor: "#ffffff", fillOpacity: 0.05 },
    });
    layer.addTo(outlineLayer);
    tileLayers.push(layer);
    return;
  }
  const { data } = await api("GET", "/maps/outlines.geojson?city=" + encodeURIComponent(String(CITY_ID)));
  const mine = new Set((state.user && state.user.neighbourhood_ids) || []);
  L.geoJSON(data, {
    pane: "outlines",
    interactive: false,
    style: (feature) =>
      mine.has(feature.id)
        ? { color: "#8a5a00", weight: 2.5, fillColor: "#f2b632", fillOpacity: 0.12, className: "assetmap-outline assetmap-mine" }
        : { color: "#666", weight: 1, fillColor: "#ffffff", fillOpacity: 0.05, className: "assetmap-outline" },
  }).addTo(outlineLayer);
}

async function loadServiceTypes() {
  const { data } = await api("GET", "/api/service-types");
  const checks = document.getElementById("asset-service-types");
  const select = document.getElementById("need-service-type");
  for (const item of data.items) {
    state.serviceNames.set(item.slug, item.name);
    checks.appendChild(el("label", {}, el("input", { type: "checkbox", name: "service_types", value: item.slug }), item.name));
    select.appendChild(el("option", { value: item.slug, text: item.name }));
  }
}

(async () => {
  initialView();
  map.on("moveend", onMoveEnd);
  const [user] = await Promise.all([currentUser(), loadServiceTypes().catch((err) => say(describeError(err)))]);
  setUser(user);
  root.dataset.ready = "true";
  startTiles();
  await Promise.all([loadView(), loadPending(), loadOutlines().catch((err) => say(describeError(err)))]);
  root.dataset.loaded = "true";
})();
