// The matching page: a small map of the need and the places (never people) that could meet it, the form that
// turns a candidate into a commitment, and the buttons and form that move a commitment along and record its
// outcome. Every change goes through the JSON API with the session cookie; the API's message is shown as text.
/* global L */
import { api, describeError, setText } from "./common.js";

const page = document.getElementById("matches");
const status = document.getElementById("match-status");

function say(text) {
  if (status) {
    setText(status, text);
  }
}

function drawMap() {
  const box = document.getElementById("match-map");
  if (!box || typeof L === "undefined") {
    return;
  }
  const points = JSON.parse(page.dataset.points || "[]");
  const map = L.map(box, { minZoom: 3, maxZoom: 19 });
  if (page.dataset.tilesUrl) {
    L.tileLayer(page.dataset.tilesUrl, { attribution: page.dataset.tilesAttribution, maxZoom: 19 }).addTo(map);
  }
  const layer = L.featureGroup().addTo(map);
  for (const [lat, lon, kind, name] of points) {
    const colour = kind === "need" ? "#b3261e" : "#1b5e20";
    L.circleMarker([lat, lon], { radius: kind === "need" ? 9 : 6, color: colour, weight: 2, fillOpacity: 0.6 })
      .bindTooltip(String(name))
      .addTo(layer);
  }
  if (layer.getLayers().length) {
    map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 15 });
  } else {
    map.setView([52.52, 13.405], 11);
  }
}

function numberOrNull(value) {
  return value === "" || value === undefined ? null : Number(value);
}

async function commit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const body = {
    resource_id: Number(form.dataset.resource),
    need_id: Number(page.dataset.need),
    quantity: Number(data.get("quantity")),
  };
  if (data.get("starts_on")) {
    body.starts_on = data.get("starts_on");
  }
  if (data.get("ends_on")) {
    body.ends_on = data.get("ends_on");
  }
  try {
    const { data: made } = await api("POST", "/api/commitments", { json: body });
    say("Commitment " + made.id + " proposed.");
    window.location.reload();
  } catch (err) {
    say(describeError(err));
  }
}

async function moveStage(event) {
  const button = event.currentTarget;
  try {
    await api("PATCH", "/api/commitments/" + button.dataset.commitment, { json: { stage: button.dataset.stage } });
    window.location.reload();
  } catch (err) {
    say(describeError(err));
  }
}

async function recordOutcome(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const body = {};
  const hours = numberOrNull(data.get("hours_given"));
  const people = numberOrNull(data.get("people_helped"));
  if (hours !== null) {
    body.hours_given = hours;
  }
  if (people !== null) {
    body.people_helped = people;
  }
  try {
    await api("PATCH", "/api/commitments/" + form.dataset.commitment, { json: body });
    say("Outcome recorded.");
    window.location.reload();
  } catch (err) {
    say(describeError(err));
  }
}

if (page && page.dataset.need) {
  drawMap();
  for (const form of document.querySelectorAll(".commit-form")) {
    form.addEventListener("submit", commit);
  }
  for (const button of document.querySelectorAll(".stage-button")) {
    button.addEventListener("click", moveStage);
  }
  for (const form of document.querySelectorAll(".outcome-form")) {
    form.addEventListener("submit", recordOutcome);
  }
}
if (page) {
  page.dataset.ready = "1"; // the forms and buttons work from here on (tests wait for it after a reload)
}
