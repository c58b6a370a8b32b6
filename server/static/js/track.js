// The resident's page: the server renders every state (works without JavaScript); this module keeps the
// waiting figures live over /track, and polls GET /api/v1/track/{token} whenever the socket is not online
// (WeChat's browser or a proxy that blocks websockets). A change of status reloads the server's page, and
// so does a change of the complaint case a bad rating opened (the supervisor's answer appears).
import { connect, connectionMark, getJSON } from "/static/js/hq-socket.js";

const main = document.getElementById("main");
const token = main.dataset.token;
const shown = main.dataset.status;
const shownCase = main.dataset.complaint || "";
const caseOpen = shown === "done" && (shownCase === "open" || shownCase === "verified");
// A case is answered in days, not minutes: its page polls slowly when the socket is out.
const POLL_MS = caseOpen ? 60000 : 5000;
const mark = connectionMark();
let pollTimer = null;

function byId(id) {
  return document.getElementById(id);
}

function vibrateOnce() {
  // Once per ticket: a reload on "called" must not buzz again.
  const key = `hq-vibrated-${token}`;
  try {
    if (sessionStorage.getItem(key)) return;
    sessionStorage.setItem(key, "1");
  } catch {
    // private mode without storage: vibrate anyway
  }
  if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
}

// PROTOCOL v1.2 `near` (即将到号): shown, vibrated and notified once, where the browser allows.
let nearSaid = false;
function nearFront(body) {
  const banner = byId("track-near");
  if (!banner) return;
  banner.hidden = !body.near;
  if (!body.near || nearSaid) return;
  nearSaid = true;
  vibrateOnce();
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      new Notification(banner.textContent);
    } catch {
      // some mobile browsers only notify from a service worker: the banner and vibration stay
    }
  }
}

function reload() {
  window.location.replace(window.location.pathname + window.location.search.replace(/[?&](ok|error)=[^&]*/g, ""));
}

function apply(body) {
  if (!body || !body.status) return;
  if (caseOpen && (body.complaint || "") !== shownCase) {
    stopPolling();
    reload();
    return;
  }
  if (body.status !== shown) {
    // A new state has a new layout (the window, the rating form): the server renders it.
    stopPolling();
    if (body.status === "called") vibrateOnce();
    reload();
    return;
  }
  nearFront(body);
  if (shown === "remote") byId("track-ahead").textContent = String(body.ahead);
  if (shown === "waiting") {
    byId("track-ahead").textContent = String(body.ahead);
    byId("track-wait").textContent = String(Math.max(1, Math.round(body.est_wait_s / 60)));
    byId("track-wait-row").hidden = !body.served_now;
    byId("track-not-served").hidden = body.served_now;
  }
}

async function poll() {
  try {
    apply(await getJSON(`/api/v1/track/${encodeURIComponent(token)}`));
  } catch {
    // offline for a moment: the next poll tries again
  }
}

function startPolling() {
  if (pollTimer === null) pollTimer = setInterval(poll, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

if (shown === "called") vibrateOnce();

if (shown === "remote" || shown === "waiting") {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
  nearSaid = !byId("track-near").hidden; // already near when the page opened: said by the page itself
}

// Only a ticket still moving, or a complaint case still open, needs live updates.
if (shown === "remote" || shown === "waiting" || shown === "called" || shown === "serving" || caseOpen) {
  connect(
    "/track",
    { token },
    { ticket: (body) => apply(body) },
    {
      onStatus(status) {
        mark(status);
        if (status === "online") stopPolling();
        else startPolling();
      },
    },
  );
  startPolling(); // until the socket is online
}
