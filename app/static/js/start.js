// The start page: sign in (POST /api/auth/session), show who is signed in, sign out (POST /api/auth/logout).
import { api, currentUser, describeError, setText, showViewer } from "./common.js";

const form = document.getElementById("signin-form");
const signedIn = document.getElementById("signed-in");
const message = document.getElementById("signin-message");
const signOutButton = document.getElementById("signout-button");

function say(text, kind) {
  message.textContent = text;
  message.className = "message" + (kind ? " " + kind : "");
}

/** Where to go after signing in: only a path on this site (never '//host' or a full URL). */
function nextPath() {
  const next = new URLSearchParams(window.location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\")) {
    return next;
  }
  return null;
}

function show(user) {
  showViewer(user);
  form.hidden = Boolean(user);
  signedIn.hidden = !user;
  if (user) {
    setText(document.getElementById("signed-in-name"), user.username);
    setText(document.getElementById("signed-in-role"), user.role);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  say("Signing in\u2026");
  try {
    // The answer sets the HttpOnly session cookie; no token reaches this script.
    await api("POST", "/api/auth/session", {
      form: { username: data.get("username"), password: data.get("password") },
    });
    form.reset();
    const user = await currentUser(true);
    show(user);
    say(user ? "Signed in." : "Signed in, but the server did not say who you are: reload the page.", "ok");
    const next = nextPath();
    if (user && next) {
      window.location.assign(next);
    }
  } catch (err) {
    say(err.status === 401 ? "Wrong user name or password." : describeError(err), "error");
  } finally {
    submit.disabled = false;
  }
});

signOutButton.addEventListener("click", async () => {
  signOutButton.disabled = true;
  try {
    await api("POST", "/api/auth/logout");
    say("Signed out.", "ok");
  } catch (err) {
    // A token the server no longer accepts is as good as signed out.
    say(err.status === 401 ? "Signed out." : describeError(err), err.status === 401 ? "ok" : "error");
  } finally {
    signOutButton.disabled = false;
    show(null);
  }
});

(async () => {
  show(await currentUser());
})();
