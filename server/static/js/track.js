// The resident's page: the server renders every state (works without JavaScript); this module keeps the
// waiting figures live over /track, and polls GET /api/v1/track/{token} whenever the socket is not online
// (WeChat's browser or a proxy that blocks websockets). A change of status reloads the server's page, and
// so does a change of the complaint case a bad rating opened (the supervisor's answer appears), and of the
// matter (办件) a promised service's acceptance opened (可领取 appears days later).
import { connect, connectionMark, getJSON } from "/static/js/hq-socket.js";
import { minutesText, t } from "/static/js/i18n.js";

const main = document.getElementById("main");
const token = main.dataset.token;
const shown = main.dataset.status;
const shownCase = main.dataset.complaint || "";
const caseOpen = shown === "done" && (shownCase === "open" || shownCase === "verified");
const shownMatter = main.dataset.matter || "";
const matterOpen = shown === "done" && shownMatter !== "" && shownMatter !== "picked_up" && shownMatter !== "rejected";
// A case is answered, and a matter moves, in days, not minutes: such a page polls slowly when the socket is out.
const POLL_MS = caseOpen || matterOpen ? 60000 : 5000;
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
  banner.textContent = body.near ? t("near_front") : "";
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
  if (matterOpen && body.matter && body.matter.status !== shownMatter) {
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
    const people = byId("track-people");
    people.textContent = body.ahead === 1 ? people.dataset.one : people.dataset.many;
    byId("track-wait").textContent = minutesText(body.est_wait_s, true); // the one rule (i18n.js)
    byId("track-wait-row").hidden = !body.served_now;
    byId("track-not-served").hidden = body.served_now || body.before_opening;
    byId("track-before").hidden = body.served_now || !body.before_opening;
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

// The server renders the words of a page that does not update itself; with this module it does.
const hint = byId("track-hint");
if (hint && hint.dataset.live) hint.textContent = hint.dataset.live;

if (shown === "remote" || shown === "waiting") {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
  nearSaid = !byId("track-near").hidden; // already near when the page opened: said by the page itself
}

// Only a ticket still moving, a complaint case still open or a matter under way needs live updates.
if (shown === "remote" || shown === "waiting" || shown === "called" || shown === "serving" || caseOpen || matterOpen) {
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
