// The register import page: the file goes to POST /api/cases/import (a dry run or the import) with the session
// cookie; the answer's rows are shown as text (a register's cells never become markup), the unplaced ones first.
import { api, describeError, el, setText } from "./common.js";

const form = document.getElementById("register-import-form");
const message = document.getElementById("register-import-message");
const result = document.getElementById("register-import-result");

function events(row) {
  return row.events.map((e) => e.kind + " " + e.on).join(", ");
}

function caseCell(row) {
  if (row.case_id) {
    return el("td", {}, el("a", { href: "/cases/" + row.case_id, text: "case " + row.case_id }));
  }
  return el("td", { text: row.new_asset ? "new place" : "" });
}

function show(report) {
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
      ),
    ),
  );
  if (!report.unplaced.length) {
    unplaced.replaceChildren(el("tr", {}, el("td", { colspan: 6, className: "muted", text: "None: every row is placed." })));
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
