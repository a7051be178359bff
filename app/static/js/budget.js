// Citizen-budget pages: propose, review, move a round on, make voting codes, cast a ballot. Every answer is
// shown with setText (text nodes only); the server checks every rule and says what to do instead.
import { api, describeError, setText } from "./common.js";

const status = document.getElementById("budget-status");
const roundPage = document.getElementById("budget-round");
const ballotPage = document.getElementById("budget-ballot");

function say(text) {
  if (status) setText(status, text);
}

async function send(method, url, json, done) {
  try {
    const { data } = await api(method, url, { json });
    done(data);
  } catch (err) {
    say(describeError(err));
  }
}

if (roundPage) {
  const base = "/api/budget-rounds/" + roundPage.dataset.roundId;
  const propose = document.getElementById("propose-form");
  if (propose) {
    propose.addEventListener("submit", (event) => {
      event.preventDefault();
      const f = new FormData(propose);
      const body = { title: f.get("title"), cost: Number(f.get("cost")) };
      if (f.get("description")) body.description = f.get("description");
      if (f.get("service_type")) body.service_type = f.get("service_type");
      if (f.get("lon") && f.get("lat")) {
        body.point = { type: "Point", coordinates: [Number(f.get("lon")), Number(f.get("lat"))] };
      } else if (f.get("neighbourhood")) {
        body.neighbourhood = f.get("neighbourhood");
      }
      if (f.get("for_resident")) body.for_resident = true;
      say("Sending and scoring against the gap analysis…");
      send("POST", base + "/proposals", body, () => window.location.reload());
    });
  }
  for (const form of document.querySelectorAll(".review-form")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const feasible = event.submitter ? event.submitter.value === "true" : true;
      const reason = new FormData(form).get("reason") || null;
      send("POST", base + "/proposals/" + form.dataset.proposalId + "/review", { feasible, reason }, () =>
        window.location.reload(),
      );
    });
  }
  const phase = document.getElementById("phase-form");
  if (phase) {
    phase.addEventListener("submit", (event) => {
      event.preventDefault();
      send("POST", base + "/phase", { phase: new FormData(phase).get("phase") }, () => window.location.reload());
    });
  }
  const codes = document.getElementById("codes-form");
  if (codes) {
    codes.addEventListener("submit", (event) => {
      event.preventDefault();
      send("POST", base + "/codes", { count: Number(new FormData(codes).get("count")) }, (data) => {
        const out = document.getElementById("codes-out");
        setText(out, data.codes.join("\n"));
        out.hidden = false;
        say("Print these codes now: they are not shown again.");
      });
    });
  }
}

if (ballotPage) {
  const form = document.getElementById("ballot-form");
  const total = document.getElementById("ballot-total");
  const boxes = form ? Array.from(form.querySelectorAll("input[name=approve]")) : [];
  const amount = Number(ballotPage.dataset.amount);
  const limited = ballotPage.dataset.limit === "true";
  const update = () => {
    const sum = boxes.filter((b) => b.checked).reduce((s, b) => s + Number(b.dataset.cost), 0);
    setText(total, "Selected: " + sum.toLocaleString() + (limited ? " of " + amount.toLocaleString() : ""));
  };
  for (const box of boxes) box.addEventListener("change", update);
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const approvals = boxes.filter((b) => b.checked).map((b) => Number(b.value));
      const body = { approvals };
      const code = document.getElementById("ballot-code");
      if (code) body.code = code.value;
      send("PUT", "/api/budget-rounds/" + ballotPage.dataset.roundId + "/ballot", body, (data) =>
        say(data.changed ? "Your ballot was changed." : "Your ballot was cast. You can change it until voting closes."),
      );
    });
  }
}
