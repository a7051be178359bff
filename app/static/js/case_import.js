// The register import page: the file goes to POST /api/cases/import (a dry run or the import) with the session
// cookie; the answer's rows are shown as text (a register's cells never become markup), the unplaced ones first.
// An unplaced row is placed by hand: an existing asset's id, or a name and a tap on the map; its case is then
// opened through POST /api/cases and its other dates recorded through the events API (the same rules).
/* global L */
import { api, describeError, el, setText } from "./common.js";

const form = document.getElementById("register-import-form");
const message = document.getElementById("register-import-message");
const result = document.getElementById("register-import-result");
const page = document.getElementById("register-import");
let lastCity = null;
let wasDryRun = true; // rows are placed by hand only after the import itself, so that a later import skips none
let placing = null; // the row being placed
let placeMap = null;
let point = null;
let pin = null;

function mapForPlacing() {
  if (placeMap) {
    return placeMap;
  }
  placeMap = L.map("place-map", { minZoom: 3, maxZoom: 19 });
  if (page.dataset.tilesUrl) {
    L.tileLayer(page.dataset.tilesUrl, { attribution: page.dataset.tilesAttribution, maxZoom: 19 }).addTo(placeMap);
  }
  placeMap.setView([52.52, 13.405], 11);
  placeMap.on("click", (event) => {
    point = event.latlng;
    if (pin) {
      pin.remove();
    }
    pin = L.marker(point).addTo(placeMap);
    setText(
      document.getElementById("place-location"),
      "New place at " + point.lat.toFixed(5) + ", " + point.lng.toFixed(5),
    );
  });
  return placeMap;
}

function startPlacing(row) {
  placing = row;
  const section = document.getElementById("place-row");
  section.hidden = false;
  setText(
    document.getElementById("place-which"),
    `Row ${row.row}: ${row.name || "(no name)"}` + (row.address ? `, ${row.address}` : "") + ` (${events(row)})`,
  );
  document.getElementById("place-name").value = row.name || "";
  document.getElementById("place-asset-id").value = "";
  setText(document.getElementById("place-message"), "");
  const map = mapForPlacing();
  map.invalidateSize();
  if (row.coordinates) {
    map.setView([row.coordinates[1], row.coordinates[0]], 16);
  }
  section.scrollIntoView();
}

async function placeRow(event) {
  event.preventDefault();
  const message = document.getElementById("place-message");
  if (!placing) {
    return;
  }
  const values = new FormData(event.target);
  const body = {
    city: lastCity,
    kind: "acv",
    community_body: { name: placing.community_body || "not named in the council's register", kind: "other" },
    opened_on: placing.events[0].on,
    note: "placed by hand from the council's register, row " + placing.row,
  };
  if (placing.reference) {
    body.reference = placing.reference;
  }
  if (values.get("asset_id")) {
    body.asset_id = Number(values.get("asset_id"));
  } else if (point && values.get("name")) {
    body.asset = {
      name: values.get("name"),
      geometry: { type: "Point", coordinates: [point.lng, point.lat] },
    };
    const address = [placing.address, placing.postcode].filter(Boolean).join(", ");
    if (address) {
      body.asset.description = address;
    }
  } else {
    setText(message, "Give an asset's id, or a name and a tap on the map.");
    return;
  }
  let caseId;
  try {
    const { data } = await api("POST", "/api/cases", { json: body });
    caseId = data.id;
  } catch (err) {
    setText(message, describeError(err));
    return;
  }
  for (const next of placing.events.slice(1)) {
    try {
      await api("POST", "/api/cases/" + caseId + "/events", { json: { kind: next.kind, on: next.on } });
    } catch (err) {
      setText(message, `Case ${caseId} opened; ${next.kind} on ${next.on} not recorded: ${describeError(err)}`);
      return;
    }
  }
  setText(message, "Case opened: ", el("a", { href: "/cases/" + caseId, text: "case " + caseId }));
}

function events(row) {
  return row.events.map((e) => e.kind + " " + e.on).join(", ");
}

function caseCell(row) {
  if (row.case_id) {
    return el("td", {}, el("a", { href: "/cases/" + row.case_id, text: "case " + row.case_id }));
  }
  return el("td", { text: row.new_asset ? "new place" : "" });
}

function placeCell(row) {
  // Only a row that could not be placed (not one whose data is wrong) with a day to open it on is placed by hand.
  if (wasDryRun || row.outcome !== "unplaced" || !row.events.length) {
    return el("td", {});
  }
  const button = el("button", { type: "button", className: "secondary", text: "Place on the map" });
  button.addEventListener("click", () => startPlacing(row));
  return el("td", {}, button);
}

function show(report) {
  wasDryRun = report.dry_run;
  lastCity = report.city;
  const counts = report.counts;
  const done = report.dry_run ? counts.would_import + " would be imported" : counts.imported + " imported";
  setText(
    document.getElementById("register-import-summary"),
    `${report.file} (${report.format}, ${report.encoding || "?"}): ${counts.rows} rows, ${done} ` +
      `(${counts.new_assets} new places), ${counts.skipped} imported before, ${counts.unplaced} to place, ` +
      `${counts.rejected} rejected.` + (report.dry_run ? " Dry run: nothing was written." : ""),
  );
  const mapped = Object.entries(report.mapping).map(([field, column]) => field + " = " + column).join(", ");
  document
    .getElementById("register-import-notes")
    .replaceChildren(...[`columns: ${mapped}`, ...report.notes].map((text) => el("li", { text })));
  const unplaced = document.querySelector("#register-unplaced tbody");
  unplaced.replaceChildren(
    ...report.unplaced.map((row) =>
      el(
        "tr",
        {},
        el("td", { text: row.row }),
        el("th", { scope: "row", text: row.name || "(no name)" }),
        el("td", { text: [row.address, row.postcode].filter(Boolean).join(", ") }),
        el("td", { text: row.community_body || "" }),
        el("td", { text: events(row) }),
        el("td", { text: row.reason }),
        placeCell(row),
      ),
    ),
  );
  if (!report.unplaced.length) {
    unplaced.replaceChildren(el("tr", {}, el("td", { colspan: 7, className: "muted", text: "None: every row is placed." })));
  }
  document.querySelector("#register-rows tbody").replaceChildren(
    ...report.rows.map((row) =>
      el(
        "tr",
        {},
        el("td", { text: row.row }),
        el("th", { scope: "row", text: row.name || "(no name)" }),
        el("td", { text: row.outcome.replace("_", " ") }),
        caseCell(row),
        el("td", { text: [row.reason || events(row), ...row.warnings].filter(Boolean).join("; ") }),
      ),
    ),
  );
  result.hidden = false;
}

document.getElementById("place-form").addEventListener("submit", placeRow);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = new FormData(form);
  const file = values.get("file");
  if (!file || !file.name) {
    setText(message, "Choose the register's file first (CSV or XLSX).");
    return;
  }
  const data = new FormData();
  data.append("file", file, file.name);
  data.append("city", values.get("city"));
  for (const name of ["mapping", "encoding"]) {
    if (values.get(name)) {
      data.append(name, values.get(name));
    }
  }
  const dryRun = !event.submitter || event.submitter.value !== "import";
  data.append("dry_run", dryRun ? "true" : "false");
  setText(message, dryRun ? "Trying the register..." : "Importing the register...");
  try {
    const { data: report } = await api("POST", "/api/cases/import", { formData: data });
    setText(message, "");
    show(report);
  } catch (err) {
    setText(message, describeError(err));
  }
});
