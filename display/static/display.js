// The call screen: draws the server-rendered snapshot, stays live over /display, flashes and announces each
// call and recall once (deduplicated by ticket + call time, so a resync never repeats one), and plays the
// announcements one after another from a queue that never overlaps and never drops one.
import { connect } from "/static/js/hq-socket.js";
import { lang, t } from "/static/js/i18n.js";
import { AudioQueue, soundAllowed } from "/display/static/voice.js";

const setup = JSON.parse(document.getElementById("display-setup").textContent);
const first = JSON.parse(document.getElementById("display-snapshot").textContent);
const nowNumber = document.getElementById("now-number");
const nowCounter = document.getElementById("now-counter");
const nowBox = document.getElementById("now");
const nowTitle = document.getElementById("now-title");
const list = document.getElementById("calls");
const waiting = document.getElementById("waiting");
const banner = document.getElementById("sound-banner");
const noticeBox = document.querySelector(".tv-notice");
const noticeText = document.getElementById("notice");
const configuredNotice = noticeText.textContent; // this display's own line from the config

const MAX_CALLS = 10;
const SEEN_LIMIT = 500;
const services = new Map(setup.services.map((s) => [s.id, s]));
const counters = new Set(setup.counters);
let calls = [];
const seen = new Set();
const voice = new AudioQueue(setup, () => {
  banner.hidden = false;
  state.blocked += 1;
});
// For tests and the curious: what was shown when (page clock, ms), what was played, and how often the
// browser refused to play (the clip then waits for the first click or key).
const state = { shown: {}, audio: voice.log, snapshots: 0, blocked: 0 };
globalThis.hqDisplay = state;

const key = (call) => `${call.ticket}|${call.at}`;
const shows = (call) => services.has(call.service) && (counters.size === 0 || counters.has(call.counter));

function remember(call) {
  seen.add(key(call));
  if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value);
}

function flash(element) {
  element.classList.remove("tv-flash");
  void element.offsetWidth; // restart the animation on a second call in a row
  element.classList.add("tv-flash");
  element.addEventListener("animationend", () => element.classList.remove("tv-flash"), { once: true });
}

function row(call) {
  const item = document.createElement("li");
  const number = document.createElement("span");
  number.className = "tv-num";
  number.textContent = call.number;
  if (call.appointment) {
    const booked = document.createElement("span");
    booked.className = "tv-booked";
    booked.textContent = t("appointment_badge");
    number.append(" ", booked);
  }
  if (call.pickup) {
    const pickup = document.createElement("span");
    pickup.className = "tv-booked tv-pickup";
    pickup.textContent = t("pickup_badge");
    number.append(" ", pickup);
  }
  const win = document.createElement("span");
  win.className = "tv-win";
  win.textContent = call.counter_name || "";
  item.append(number, win);
  return item;
}

function draw() {
  // A recall is a call again, not another resident: each ticket shows once, at its latest call.
  const latestPerTicket = calls.filter((call, i) => calls.findIndex((c) => c.ticket === call.ticket) === i);
  const [latest, ...rest] = latestPerTicket;
  nowTitle.textContent = latest && latest.recall ? t("calling_again") : t("now_calling");
  nowNumber.textContent = latest ? latest.number : "—";
  document.getElementById("now-booked").hidden = !(latest && latest.appointment); // 预约 (PROTOCOL v1.2)
  document.getElementById("now-pickup").hidden = !(latest && latest.pickup); // 领取 (a matter's result)
  nowCounter.textContent = latest ? latest.counter_name || "" : "";
  list.replaceChildren(...rest.slice(0, MAX_CALLS - 1).map(row));
}

function showWaiting(counts) {
  waiting.replaceChildren(
    ...[...services.values()].map((service) => {
      const item = document.createElement("li");
      const name = lang() === "en" ? service.name_en : service.name;
      const count = document.createElement("strong");
      count.textContent = t("waiting_count", { count: counts[service.id] ?? 0 });
      item.append(`${name} `, count);
      return item;
    }),
  );
}

function announce(call) {
  remember(call);
  calls = [call, ...calls.filter((c) => key(c) !== key(call))].slice(0, MAX_CALLS);
  draw();
  state.shown[call.ticket] = Date.now();
  flash(nowBox);
  voice.enqueue(call);
}

function snapshot(body) {
  state.snapshots += 1;
  list.dataset.snapshots = String(state.snapshots);
  const shown = body.calls.filter(shows);
  // Calls made while the page was away are announced (oldest first); ones it has seen are not repeated.
  const missed = shown.filter((c) => !seen.has(key(c))).reverse();
  calls = shown.slice(0, MAX_CALLS);
  draw();
  showWaiting(body.waiting);
  missed.slice(-3).forEach((call) => {
    remember(call);
    state.shown[call.ticket] = Date.now();
    flash(nowBox);
    voice.enqueue(call);
  });
  missed.forEach(remember);
}

// The hall's notice line set from /admin wins over the display's configured one; empty falls back to it.
function showNotice(body) {
  const text = (body && body.text) || configuredNotice;
  noticeText.textContent = text;
  noticeBox.hidden = !text;
}

function tick() {
  const clock = document.getElementById("clock");
  const now = new Date();
  clock.dateTime = now.toISOString();
  const day = new Intl.DateTimeFormat(lang(), { timeZone: setup.timezone, month: "long", day: "numeric", weekday: "short" });
  const time = new Intl.DateTimeFormat(lang(), { timeZone: setup.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  clock.textContent = `${day.format(now)}  ${time.format(now)}`;
}

first.calls.filter(shows).forEach(remember);
calls = first.calls.filter(shows).slice(0, MAX_CALLS);
draw();
showWaiting(first.waiting);
tick();
setInterval(tick, 1000);

if (!soundAllowed()) banner.hidden = false;
const unlock = () => {
  voice.unlock();
  banner.hidden = true;
};
document.addEventListener("click", unlock);
document.addEventListener("keydown", unlock);

connect("/display", { hall: setup.hall }, {
  snapshot,
  call(call) {
    if (shows(call) && !seen.has(key(call))) announce(call);
  },
  waiting: showWaiting,
  notice: showNotice,
});
