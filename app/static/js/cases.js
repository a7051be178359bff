// The community-rights pages: the register's map (cases from the register's GeoJSON, popups built as text), the
// form that opens a case, and the form that records a case's event. Every change goes through the JSON API with
// the session cookie; the API's message (why a transition is refused) is shown as text.
/* global L */
import { api, describeError, el, label, setText } from "./common.js";

const register = document.getElementById("register");
const casePage = document.getElementById("case");

function registerMap() {
  const map = L.map("register-map", { minZoom: 3, maxZoom: 19 });
  if (register.dataset.tilesUrl) {
    L.tileLayer(register.dataset.tilesUrl, { attribution: register.dataset.tilesAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([52.52, 13.405], 11);
  const layer = L.featureGroup().addTo(map);
  api("GET", "/api/cases/register.geojson?" + register.dataset.query)
    .then(({ data }) => {
      for (const feature of data.features || []) {
        if (!feature.geometry) {
          continue;
        }
        const [lon, lat] = feature.geometry.coordinates;
        const p = feature.properties;
        const popup = el(
          "div",
          {},
          el("a", { href: "/cases/" + p.case_id, text: p.asset_name }),
          el("br"),
          label(p.kind) + ": " + label(p.stage) + (p.moratorium ? " (" + p.moratorium + " moratorium)" : ""),
          el("br"),
          p.community_body_name,
        );
        L.circleMarker([lat, lon], { radius: 7, color: "#1b5e20", weight: 2, fillOpacity: 0.6 })
          .bindPopup(popup)
          .addTo(layer);
      }
      if (layer.getLayers().length) {
        map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 15 });
      }
    })
    .catch((err) => setText(document.getElementById("register-downloads"), describeError(err)));
  return map;
}

function openCaseForm(map) {
  const form = document.getElementById("open-case-form");
  if (!form) {
    return;
  }
  const message = document.getElementById("open-message");
  const where = document.getElementById("open-location");
  let place = null;
  let pin = null;
  map.on("click", (event) => {
    place = event.latlng;
    if (pin) {
      pin.remove();
    }
    pin = L.marker(place).addTo(map);
    setText(where, "New place at " + place.lat.toFixed(5) + ", " + place.lng.toFixed(5));
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const body = {
      city: register.dataset.city,
      kind: values.get("kind"),
      community_body: { name: values.get("body_name"), kind: values.get("body_kind") },
    };
    if (values.get("body_contact")) {
      body.community_body.contact = values.get("body_contact");
    }
    if (values.get("opened_on")) {
      body.opened_on = values.get("opened_on");
    }
    if (values.get("asset_id")) {
      body.asset_id = Number(values.get("asset_id"));
    } else if (place) {
      body.asset = {
        name: values.get("asset_name"),
        geometry: { type: "Point", coordinates: [place.lng, place.lat] },
      };
    }
    try {
      const { data } = await api("POST", "/api/cases", { json: body });
      window.location.assign("/cases/" + data.id);
    } catch (err) {
      setText(message, describeError(err));
    }
  });
}

function eventForm() {
  const form = document.getElementById("event-form");
  if (!form) {
    return;
  }
  const message = document.getElementById("event-message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = new FormData(form);
    const body = {
      kind: values.get("kind"),
      on: values.get("on"),
      to_community_interest_group: values.get("to_community_interest_group") === "on",
    };
    if (values.get("note")) {
      body.note = values.get("note");
    }
    try {
      await api("POST", "/api/cases/" + casePage.dataset.caseId + "/events", { json: body });
      window.location.reload();
    } catch (err) {
      setText(message, describeError(err));
    }
  });
}

if (register) {
  openCaseForm(registerMap());
}
if (casePage) {
  eventForm();
}
