// The import page's "Add a city" form (gis and admin only): POST /api/cities, then offer the new city in the
// import form's city choice and select it. Names are set with textContent only.
import { ApiError, api, describeError } from "./common.js";

const form = document.getElementById("city-form");
const message = document.getElementById("city-message");
const citySelect = document.getElementById("import-city");
const FIELDS = ["name", "country", "crs"];

function say(text, kind) {
  message.textContent = text;
  message.className = "message" + (kind ? " " + kind : "");
}

function clearErrors() {
  for (const field of FIELDS) {
    document.getElementById("city-" + field + "-error").textContent = "";
    document.getElementById("city-" + field).removeAttribute("aria-invalid");
  }
}

/** Put each problem the API names next to its field; true when at least one found its place. */
function placeErrors(err) {
  const body = (err instanceof ApiError && err.body) || {};
  const problems = Array.isArray(body.errors) && body.errors.length ? body.errors : body.field ? [{ field: body.field, problem: body.detail }] : [];
  let placed = false;
  for (const item of problems) {
    const field = String(item.field || "");
    if (FIELDS.includes(field)) {
      document.getElementById("city-" + field + "-error").textContent = String(item.problem || body.detail || "");
      document.getElementById("city-" + field).setAttribute("aria-invalid", "true");
      placed = true;
    }
  }
  return placed;
}

/** Add the city to the choice in name order and select it. */
function offer(city) {
  const option = document.createElement("option");
  option.value = String(city.id);
  option.textContent = city.name;
  const after = Array.from(citySelect.options).find((o) => o.textContent.localeCompare(city.name) > 0);
  citySelect.insertBefore(option, after || null);
  citySelect.value = option.value;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const body = {};
  for (const field of FIELDS) {
    const value = document.getElementById("city-" + field).value.trim();
    if (value) {
      body[field] = value;
    }
  }
  if (!body.name) {
    document.getElementById("city-name-error").textContent = "give the city a name";
    document.getElementById("city-name").setAttribute("aria-invalid", "true");
    say("Please correct the marked field.", "error");
    return;
  }
  try {
    const { data } = await api("POST", "/api/cities", { json: body });
    offer(data);
    form.reset();
    say("Added " + data.name + ": it is chosen as the city above; import its boundaries first (neighbourhoods).", "ok");
  } catch (err) {
    say(placeErrors(err) ? "Please correct the marked field: " + describeError(err) : describeError(err), "error");
  }
});
