// The import page: send the file(s) to POST /api/imports as a dry run, show the report (the file's columns with
// types and samples, mapping as choices, first rows, problems), then import for real with the chosen mapping and show what was written.
import { ApiError, api, currentUser, describeError, el, setText, showViewer } from "./common.js";

const form = document.getElementById("import-form");
const fileInput = document.getElementById("import-file");
const message = document.getElementById("import-message");
const reportSection = document.getElementById("report");
const resultSection = document.getElementById("result");
const importButton = document.getElementById("import-button");
const recheckButton = document.getElementById("recheck-button");
const checkButton = document.getElementById("check-button");
const NOT_MAPPED = "";

let lastReport = null;

function say(text, kind) {
  message.textContent = text;
  message.className = "message" + (kind ? " " + kind : "");
}

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) {
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
  }
}

function cellText(value) {
  if (value === null || value === undefined) {
    return "";
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The chosen mapping: every field of the layer -> a column of the file, or "" for none (which unmaps it). */
function chosenMapping() {
  if (lastReport && lastReport.join) {
    return null; // a join's fields and sums are planned again by the server from the same table
  }
  const mapping = {};
  for (const select of document.querySelectorAll("#mapping-table select")) {
    mapping[select.dataset.target] = select.value;
  }
  return mapping;
}

function buildForm(dryRun, mapping) {
  const data = new FormData();
  for (const file of fileInput.files) {
    data.append("file", file, file.name);
  }
  data.append("city", document.getElementById("import-city").value);
  data.append("layer", document.getElementById("import-layer").value);
  for (const [name, id] of [
    ["crs", "import-crs"],
    ["encoding", "import-encoding"],
    ["gpkg_layer", "import-gpkg-layer"],
    ["where", "import-where"],
    ["clip", "import-clip"],
    ["clip_buffer_m", "import-clip-buffer-m"],
    ["sheet", "import-sheet"],
  ]) {
    const value = document.getElementById(id).value.trim();
    if (value) {
      data.append(name, value);
    }
  }
  const joinColumn = document.getElementById("import-join").value.trim();
  if (joinColumn) {
    data.append("join", joinColumn.includes("=") ? joinColumn : "code=" + joinColumn);
  }
  if (mapping && Object.keys(mapping).length) {
    data.append("mapping", JSON.stringify(mapping));
  }
  data.append("dry_run", dryRun ? "true" : "false");
  data.append("skip_invalid", document.getElementById("import-skip-invalid").checked ? "true" : "false");
  return data;
}

function showFailure(err) {
  if (err instanceof ApiError && err.status === 401) {
    showViewer(null);
  }
  const body = (err instanceof ApiError && err.body) || {};
  const fields = Array.isArray(body.errors) && body.errors.length ? body.errors : body.field ? [{ field: body.field, problem: body.detail }] : [];
  let placed = false;
  for (const item of fields) {
    const top = String(item.field || "").split(".")[0];
    const target = document.getElementById("import-" + top + "-error");
    if (target) {
      target.textContent = item.problem || body.detail || "";
      const input = form.querySelector('[name="' + CSS.escape(top) + '"]');
      if (input) {
        input.setAttribute("aria-invalid", "true");
      }
      placed = true;
    }
  }
  say(placed ? "Please correct the marked field: " + describeError(err) : describeError(err), "error");
}

function fact(list, term, value) {
  list.append(el("dt", { text: term }), el("dd", { text: cellText(value) || "\u2013" }));
}

/** The file's columns: as the report lists them, else as far as the mapping names them. */
function sourceColumns(report) {
  const columns = [];
  const add = (name) => {
    if (name !== null && name !== undefined && name !== "" && !columns.includes(String(name))) {
      columns.push(String(name));
    }
  };
  (Array.isArray(report.columns) ? report.columns : []).forEach(add);
  Object.values(report.mapping || {}).forEach(add);
  return columns;
}

/** The fields of the chosen layer (from the page), or those the report's mapping names. */
function targetFields(report) {
  const layer = document.getElementById("import-layer").value;
  let targets = [];
  try {
    targets = JSON.parse(form.dataset.targets || "{}")[layer] || [];
  } catch (_err) {
    targets = [];
  }
  const names = targets.map((t) => t.name);
  for (const name of Object.keys(report.mapping || {})) {
    if (!names.includes(name)) {
      targets.push({ name, required: false });
      names.push(name);
    }
  }
  return targets;
}

function showMapping(report) {
  const body = document.querySelector("#mapping-table tbody");
  const columns = sourceColumns(report);
  const mapping = report.mapping || {};
  const rows = targetFields(report).map((target) => {
    const select = el("select", { "data-target": target.name, "aria-label": "Column for " + target.name });
    select.append(el("option", { value: NOT_MAPPED, text: "(not mapped)" }));
    for (const column of columns) {
      select.append(el("option", { value: column, text: column, selected: column === mapping[target.name] }));
    }
    return el("tr", {}, el("th", { scope: "row", text: target.name + (target.required ? " *" : "") }), el("td", {}, select));
  });
  body.replaceChildren(...rows);
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: "2", className: "muted", text: "No mapping suggested." })));
  }
}

/** A join's matches both ways and where each field comes from; the editable mapping is for other imports. */
function showJoin(report) {
  const join = report.join;
  document.getElementById("join-report").hidden = !join;
  document.getElementById("mapping-part").hidden = Boolean(join);
  if (!join) {
    return;
  }
  const facts = document.getElementById("join-facts");
  facts.replaceChildren();
  const listed = (items, total) => items.slice(0, 20).join(", ") + (total > 20 ? " … (" + total + " in all)" : "");
  fact(facts, "Code column", join.key_column);
  fact(facts, "Matched", join.matched + " of " + join.table_rows + " rows");
  const unmatched = (join.unmatched_rows || []).map((u) => "row " + u.row_number + " (" + u.code + ")");
  fact(facts, "Rows matching no neighbourhood", listed(unmatched, join.unmatched_rows_total));
  fact(facts, "Neighbourhoods not in the table", listed(join.neighbourhoods_not_in_table || [], join.neighbourhoods_not_in_table_total));
  if (join.padded_codes && join.padded_codes.count) {
    fact(facts, "Codes padded with zeros", join.padded_codes.count + " (to " + join.padded_codes.width + " digits)");
  }
  for (const note of join.notes || []) {
    fact(facts, "Note", note);
  }
  const body = document.querySelector("#join-table tbody");
  body.replaceChildren(
    ...Object.entries(join.sources || {}).map(([field, source]) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", text: field }),
        el("td", { text: (source.columns || []).join(" + ") }),
        el("td", { text: cellText(source.how) }),
      ),
    ),
  );
}

/** The file's columns with their types, samples and the suggestion's reasons (all as text, never markup). */
function showColumns(report) {
  const body = document.querySelector("#columns-table tbody");
  const columns = Array.isArray(report.source_columns) ? report.source_columns : [];
  const rows = columns.map((column) => {
    const reason = column.reason || null;
    const why = reason ? [reason.detail, reason.type_check].filter(Boolean).join("; ") : "";
    const rejected = (Array.isArray(column.rejected) ? column.rejected : []).map((r) => "not " + r.target + ": " + r.reason);
    for (const target of Array.isArray(column.ambiguous_for) ? column.ambiguous_for : []) {
      rejected.push("one of several columns for " + target + ": choose one below");
    }
    const target = column.target || (column.suggested_target ? "(" + column.suggested_target + ")" : "");
    return el(
      "tr",
      {},
      el("th", { scope: "row", text: cellText(column.name) }),
      el("td", { text: cellText(column.type) }),
      el("td", { text: (Array.isArray(column.samples) ? column.samples : []).map(cellText).join(" | ") }),
      el("td", { text: target }),
      el("td", { text: [why, ...rejected].filter(Boolean).join("; ") }),
    );
  });
  body.replaceChildren(...rows);
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: "5", className: "muted", text: "No columns besides the geometry." })));
  }
}

function showPreview(report) {
  const table = document.getElementById("preview-table");
  const preview = Array.isArray(report.preview) ? report.preview : [];
  if (!preview.length) {
    table.replaceChildren(el("tbody", {}, el("tr", {}, el("td", { className: "muted", text: "No rows to show." }))));
    return;
  }
  const objects = preview.every((row) => row && typeof row === "object" && !Array.isArray(row));
  const columns = objects ? [] : preview[0].map((_v, i) => "column " + (i + 1));
  if (objects) {
    for (const row of preview) {
      for (const key of Object.keys(row)) {
        if (!columns.includes(key)) {
          columns.push(key);
        }
      }
    }
  }
  const head = el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col", text: c }))));
  const rows = preview.map((row) =>
    el("tr", {}, ...columns.map((c, i) => el("td", { text: cellText(objects ? row[c] : row[i]) }))),
  );
  table.replaceChildren(head, el("tbody", {}, ...rows));
}

function showProblems(report) {
  const problems = Array.isArray(report.problems) ? report.problems : [];
  setText(document.getElementById("problem-count"), String(problems.length));
  const body = document.querySelector("#problems-table tbody");
  body.replaceChildren(
    ...problems.map((p) =>
      el(
        "tr",
        {},
        el("td", { className: "num", text: cellText(p.row ?? p.row_number) }),
        el("td", { text: cellText(p.source_id) }),
        el("td", { text: cellText(p.field) }),
        el("td", { text: cellText(p.reason) }),
      ),
    ),
  );
  if (!problems.length) {
    body.append(el("tr", {}, el("td", { colspan: "4", className: "muted", text: "None found." })));
  }
  return problems.length;
}

function showReport(record) {
  const report = record.report || {};
  lastReport = report;
  const facts = document.getElementById("report-facts");
  facts.replaceChildren();
  fact(facts, "Format", report.format);
  fact(facts, "CRS", report.crs);
  fact(facts, "Encoding", report.encoding);
  fact(facts, "Geometry types", Array.isArray(report.geometry_types) ? report.geometry_types.join(", ") : report.geometry_types);
  fact(facts, "Features", report.feature_count ?? report.rows);
  const kept = report.filter || {};
  if (kept.where || kept.clip) {
    const dropped = kept.dropped || {};
    fact(
      facts,
      "Rows kept",
      kept.rows_kept + " of " + kept.rows_read + " (" + (dropped.where || 0) + " dropped by the filter, " +
        (dropped.outside_clip || 0) + " outside the clip area)",
    );
  }
  showColumns(report);
  showMapping(report);
  showJoin(report);
  showPreview(report);
  const problems = showProblems(report);
  reportSection.hidden = false;
  resultSection.hidden = true;
  const skip = document.getElementById("import-skip-invalid").checked;
  const blockers = Array.isArray(report.would_fail_because) ? report.would_fail_because : [];
  if (report.would_import === false && blockers.length) {
    say("The import would fail: " + blockers.join(" ") + " Choose the columns below, then check again.", "error");
  } else if (problems && !skip) {
    say(
      "The file has " + problems + " problem" + (problems === 1 ? "" : "s") +
        ": fix the file, or tick \u201cskip them\u201d to import the other rows.",
      "error",
    );
  } else {
    say("Dry run done: nothing was written. Check the report, then press Import.", "ok");
  }
}

function showResult(record) {
  const facts = document.getElementById("result-facts");
  const counts = record.counts || {};
  facts.replaceChildren();
  fact(facts, "Import", record.id);
  fact(facts, "Status", record.status);
  if (!(record.report && record.report.join)) {
    fact(facts, "Inserted", counts.inserted);
  }
  fact(facts, "Updated", counts.updated);
  fact(facts, "Skipped", counts.skipped);
  resultSection.hidden = false;
  say("Imported.", "ok");
}

async function send(dryRun) {
  clearErrors();
  if (!fileInput.files.length) {
    document.getElementById("import-file-error").textContent = "Choose a file first.";
    fileInput.setAttribute("aria-invalid", "true");
    return;
  }
  const buttons = [checkButton, importButton, recheckButton];
  buttons.forEach((b) => (b.disabled = true));
  say(dryRun ? "Checking the file\u2026" : "Importing\u2026");
  try {
    const mapping = lastReport ? chosenMapping() : null;
    const { data } = await api("POST", "/api/imports", { formData: buildForm(dryRun, mapping) });
    if (dryRun) {
      showReport(data);
    } else {
      showResult(data);
    }
  } catch (err) {
    showFailure(err);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  lastReport = null; // a first check takes the server's suggested mapping
  send(true);
});
recheckButton.addEventListener("click", () => send(true));
importButton.addEventListener("click", () => send(false));
// A report belongs to one file, city and layer: choosing another asks for a new check.
for (const id of ["import-file", "import-city", "import-layer", "import-join", "import-sheet"]) {
  document.getElementById(id).addEventListener("change", () => {
    lastReport = null;
    reportSection.hidden = true;
    resultSection.hidden = true;
  });
}

(async () => {
  const user = await currentUser();
  const notice = document.getElementById("auth-notice");
  if (user) {
    showViewer(user);
  } else {
    setText(
      notice,
      "This page was opened with your browser session, which can only read: ",
      el("a", { href: "/?next=/maps/import", text: "sign in again" }),
      " before importing.",
    );
  }
  document.body.dataset.ready = "true";
})();
