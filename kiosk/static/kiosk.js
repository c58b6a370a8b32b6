// The kiosk's touch screen: services grouped with their queues (live), a service's guide, priority with a
// confirmation, and the number taken (large, with its QR code on screen). One idempotency key per tap, so a
// double tap or a retried request gives one ticket (the server checks the key, not only the button).
import { connect, getJSON, postJSON, ApiError } from "/static/js/hq-socket.js";
import { t, lang, minutesText } from "/static/js/i18n.js";

const main = document.getElementById("main");
const kioskId = main.dataset.kiosk;
const hallId = main.dataset.hall;
const enrolled = main.dataset.enrolled === "1";
const idleMs = Number(main.dataset.idleS) * 1000;
const doneMs = Number(main.dataset.doneS) * 1000;
const donePrinterlessMs = Number(main.dataset.donePrinterlessS) * 1000;
const SCREENS = ["start", "guide", "confirm", "notice", "notice-check", "appt", "pickup", "issued"];
// 领取结果 (PROTOCOL v1.2): a case number as printed on the receipt, or its QR link as a scanner types it.
const PICKUP_KEYS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-";
const PICKUP_MAX = 300;
// 我有预约 (PROTOCOL v1.2): appointment and remote-ticket codes, 8 characters without 0/O, 1/I.
const APPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const APPT_LEN = 8;
// 一次性告知 codes (server/services/notices.py): no 0/O, 1/I/L; 10 characters shown XXXXX-XXXXX.
const CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LEN = 10;
const GROUPS = ["admin", "life"];
const english = lang() === "en";

let services = JSON.parse(document.getElementById("kiosk-services").textContent || "[]");
let printer = main.dataset.printer;
let current = null; // the service whose guide is on screen
let tapKey = null; // the idempotency key of the tap being answered
let busy = false;
let idleTimer = null;
let countdown = null;
let code = ""; // the notice code being typed or scanned
let scanned = ""; // what a scanner typed on the notice screen: 8 characters + Enter is a booking's code
let apptCode = ""; // 我有预约: the appointment's or remote ticket's code being typed or scanned
let expiredService = null; // an expired booking's service: an ordinary ticket of it in one tap
let notice = null; // the notice looked up, on the check screen
let pickupCase = ""; // 领取结果: the case number typed, or the receipt's QR link scanned (case kept)
let rawScan = ""; // what a scanner typed from the start screen on, case kept: a receipt's link is told at Enter

const $ = (id) => document.getElementById(id);
const byId = (id) => services.find((s) => s.id === id);

/** A random key for one tap; crypto.getRandomValues works on plain http too (randomUUID does not). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "tap-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------- words for a service's state

/** When a closed service opens, in the hall's own time (the offset travels in opens_at). */
function opensText(iso) {
  const offset = iso.slice(19) === "Z" ? 0 : (iso[19] === "-" ? -1 : 1) * (Number(iso.slice(20, 22)) * 60 + Number(iso.slice(23, 25)));
  const hallDay = (ms) => new Date(ms + offset * 60000).toISOString().slice(0, 10);
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 16);
  if (day === hallDay(Date.now())) return t("opens_today", { time });
  if (day === hallDay(Date.now() + 86400000)) return t("opens_tomorrow", { time });
  return t("opens_on", { time, ...dateParts(iso) });
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The month and day of an ISO date as the hall writes them: 12月7日, or 7 Dec in English (never 12/7). */
function dateParts(iso) {
  const month = Number(iso.slice(5, 7));
  return { month: english ? MONTHS[month - 1] : month, day: Number(iso.slice(8, 10)) };
}

function hallDate(iso) {
  const { month, day } = dateParts(iso);
  return english ? `${day} ${month}` : `${month}月${day}日`;
}

/** Before the day's first window opens nobody serves the queue yet: the number waits its turn (no help desk). */
function beforeText(s, short) {
  const key = (short ? "before_opening_short" : "before_opening") + (s.windows_open_at ? "" : "_any");
  return t(key, { time: s.windows_open_at || "" });
}

/** [state, words] of a service tile; kiosk/views.py's service_state says the same on first render. */
function serviceState(s) {
  if (!s.open) return ["closed", s.opens_at ? opensText(s.opens_at) : t("closed_disabled")];
  if (s.served_now === false && s.before_opening) return ["before", beforeText(s, true)];
  if (s.served_now === false) return ["unserved", t("not_served_short")];
  const wait = s.est_wait_s > 0 ? minutesText(s.est_wait_s, true) : t("wait_none"); // the one rule (i18n.js)
  // people ahead of a ticket taken now, as the slip and the resident's page count them (at its windows)
  return ["open", `${t("ahead_tile", { n: s.ahead ?? s.waiting })} · ${wait}`];
}

const label = (s) => (english ? s.name_en || s.name : s.name);

// ---------------------------------------------------------------- the start screen

/** A tile's state and words (its name too: the language or the name may change). */
function fillTile(button, s) {
  const [state, words] = serviceState(s);
  button.dataset.state = state;
  button.querySelector(".kiosk-service-name").textContent = label(s);
  button.querySelector(".kiosk-service-state").textContent = words;
}

function renderServices() {
  const groups = $("groups");
  // The same services in the same places: the tiles are updated where they are. A tile rebuilt under a
  // finger loses the tap (the press lands on the old button, the release on the new one: no click).
  const shown = Array.from(groups.querySelectorAll("button[data-service]"));
  const wanted = GROUPS.flatMap((group) => services.filter((s) => (s.group || "admin") === group));
  if (shown.length === wanted.length && shown.every((button, i) => button.dataset.service === wanted[i].id)) {
    shown.forEach((button, i) => fillTile(button, wanted[i]));
    if (current && main.dataset.screen === "guide") renderGuide();
    return;
  }
  const fresh = document.createDocumentFragment();
  for (const group of GROUPS) {
    const members = services.filter((s) => (s.group || "admin") === group);
    if (!members.length) continue;
    const section = document.createElement("section");
    section.className = "kiosk-group";
    section.setAttribute("aria-labelledby", `group-${group}`);
    const heading = document.createElement("h2");
    heading.id = `group-${group}`;
    heading.textContent = t(`group_${group}`);
    const list = document.createElement("ul");
    list.className = "kiosk-services hq-list";
    for (const s of members) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "kiosk-service";
      button.dataset.service = s.id;
      const name = document.createElement("span");
      name.className = "kiosk-service-name";
      const status = document.createElement("span");
      status.className = "kiosk-service-state";
      button.append(name, status);
      fillTile(button, s);
      const item = document.createElement("li");
      item.append(button);
      list.append(item);
    }
    section.append(heading, list);
    fresh.append(section);
  }
  groups.replaceChildren(fresh);
  if (current && main.dataset.screen === "guide") renderGuide();
}

// ---------------------------------------------------------------- the guide (HALL_RULES 15)

function renderGuide() {
  const s = byId(current);
  if (!s) return show("start");
  $("guide-title").textContent = label(s);
  const [state, words] = serviceState(s);
  $("guide-queue").textContent = state === "open" ? t("guide_queue", { words }) : "";
  $("guide-queue").hidden = state !== "open";
  const warning = $("guide-warning");
  warning.hidden = state === "open";
  warning.textContent = state === "closed" ? words : state === "before" ? beforeText(s, false) : t("not_served");
  warning.dataset.state = state;
  const materials = $("guide-materials");
  // English names where the hall configured them (materials_en), else the materials as written, in Chinese
  const inEnglish = english && Array.isArray(s.materials_en) && s.materials_en.join("\n") !== (s.materials || []).join("\n");
  materials.lang = inEnglish ? "en" : "zh-CN";
  materials.replaceChildren(
    ...(s.materials && s.materials.length ? (inEnglish ? s.materials_en : s.materials) : [t("guide_no_materials")]).map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
  $("guide-limit").textContent = s.kind === "promised" ? t("limit_promised", { days: s.time_limit_days }) : t("limit_immediate");
  $("guide-fee").textContent = s.fee || t("fee_free");
  const canTake = s.open;
  $("take").hidden = !canTake;
  $("take-priority").hidden = !canTake;
}

// ---------------------------------------------------------------- taking a number

function setBusy(on) {
  busy = on;
  $("issuing").hidden = !on;
  for (const id of ["take", "take-priority", "confirm-priority", "notice-take"]) $(id).disabled = on;
}

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.code === "not_found" && notice) return t("notice_unknown");
    if (err.code === "notice_used") return t("notice_used");
    if (err.code === "service_closed" && notice) return t("notice_closed");
    if (err.code === "service_closed") return t("error_closed");
    if (err.code === "daily_limit") return t("error_limit");
    if (err.code === "rate_limited") return t("error_busy");
    if (err.code === "forbidden" && !enrolled) return t("error_priority"); // priority needs a kiosk (docs/api.md)
  }
  return t("error_issue");
}

/** An answer that does not say whether the ticket was made: lost on the way, or a gateway's 502/503/504 when
 * the server behind it died mid-request. The same key again gets that ticket if it was made, else a new one. */
function unsure(err) {
  return !(err instanceof ApiError) || err.status === 0 || err.status >= 500;
}

async function issue(priority) {
  const body = notice ? { service: notice.service, notice: notice.code } : { service: current, priority };
  if (enrolled) body.kiosk = kioskId; // only an enrolled kiosk prints (PROTOCOL.md v1.1)
  const headers = { "Idempotency-Key": tapKey };
  const url = `/api/v1/halls/${encodeURIComponent(hallId)}/tickets`;
  try {
    return await postJSON(url, body, { headers, timeoutMs: 10000 });
  } catch (err) {
    if (!unsure(err)) throw err;
    return postJSON(url, body, { headers, timeoutMs: 10000 }); // the same key: the same ticket, never a second
  }
}

async function take(priority) {
  if (busy || !(current || notice)) return;
  tapKey = tapKey || newKey();
  setBusy(true);
  $("guide-error").hidden = true;
  try {
    const ticket = await issue(priority);
    showIssued(ticket);
  } catch (err) {
    const screen = notice ? "notice-check" : "guide";
    show(screen);
    $(`${screen}-error`).textContent = errorText(err);
    $(`${screen}-error`).hidden = false;
    if (notice) $("notice-take").hidden = $("notice-bring").hidden = true; // another tap cannot help
    if (!unsure(err)) tapKey = null; // refused: the next tap is a new ask (unsure: the next tap asks again)
  } finally {
    setBusy(false);
  }
}

function printerWords() {
  if (!enrolled || printer === "none") return ["none", t("not_printing")];
  if (printer === "paper_out") return ["paper_out", t("paper_out")];
  if (printer === "offline") return ["offline", t("printer_offline")];
  return ["ok", t("take_slip")];
}

function renderPrinterOnTicket() {
  const [state, words] = printerWords();
  const line = $("issued-printer");
  line.textContent = words;
  line.dataset.state = state;
  $("issued-valid").hidden = state === "ok";
}

function showIssued(ticket) {
  const s = byId(ticket.service);
  $("issued-number").textContent = ticket.number;
  $("issued-number").dataset.priority = ticket.priority ? "1" : "0";
  const booked = ticket.appointment_start ? ` · ${t("appt_badge", { time: ticket.appointment_start.slice(11, 16) })}` : "";
  const pickup = ticket.matter ? ` · ${t("pickup_badge", { number: ticket.matter.number })}` : ""; // 领取
  $("issued-service").textContent =
    (s ? label(s) : ticket.service) + (ticket.priority ? ` · ${t("priority_badge")}` : "") + booked + pickup;
  $("issued-service").dataset.pickup = ticket.matter ? "1" : "0";
  $("issued-repeat").hidden = !ticket.repeat_of;
  const place = ticket.ahead === 1 ? "ahead_one" : "ahead_n";
  $("issued-place").textContent = ticket.ahead ? t(place, { n: ticket.ahead }) : t("ahead_zero");
  // With nobody serving the queue the estimate is no promise, and nothing may say "soon" (PROTOCOL.md v1.1).
  const unserved = ticket.served_now === false ? (ticket.before_opening ? beforeText(ticket, false) : t("not_served")) : null;
  $("issued-wait").textContent =
    unserved || (ticket.est_wait_s ? t("est_wait", { wait: minutesText(ticket.est_wait_s, true) }) : t("listen"));
  $("issued-wait").dataset.state = ticket.served_now === false ? (ticket.before_opening ? "before" : "unserved") : "served";
  const token = ticket.track_url.slice(ticket.track_url.lastIndexOf("/") + 1);
  const qr = $("issued-qr");
  qr.src = `/kiosk/qr/${encodeURIComponent(token)}.svg`;
  qr.alt = t("qr_alt", { number: ticket.number });
  renderPrinterOnTicket();
  main.dataset.ticket = ticket.id;
  show("issued");
  startCountdown(printerWords()[0] === "ok" ? doneMs : donePrinterlessMs);
}

function startCountdown(ms) {
  clearInterval(countdown);
  const end = Date.now() + ms;
  const tick = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) return goHome();
    $("issued-countdown").textContent = t("back_in", { s: left });
  };
  tick();
  countdown = setInterval(tick, 1000);
}

// ---------------------------------------------------------------- screens, idle return

function show(screen) {
  for (const id of SCREENS) $(id).hidden = id !== screen;
  main.dataset.screen = screen;
  if (screen !== "issued") clearInterval(countdown);
  const heading = $(screen).querySelector("h1, .kiosk-your-number");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
  armIdle();
}

function goHome() {
  current = null;
  tapKey = null;
  notice = null;
  code = "";
  apptCode = "";
  pickupCase = "";
  rawScan = "";
  delete main.dataset.ticket;
  $("guide-error").hidden = true;
  renderCode();
  if (english) {
    // The next resident most likely reads Chinese: an idle or finished kiosk goes back to it.
    const query = new URLSearchParams(location.search);
    query.set("lang", "zh-CN");
    location.replace(`${location.pathname}?${query}`);
    return;
  }
  show("start");
}

function armIdle() {
  clearTimeout(idleTimer);
  const screen = main.dataset.screen;
  if (screen === "issued" || (screen === "start" && !english)) return; // the countdown, or home already
  idleTimer = setTimeout(goHome, idleMs);
}

function openGuide(serviceId) {
  current = serviceId;
  tapKey = null; // a new visit to a guide: the next 取号 is a new tap
  renderGuide();
  show("guide");
}

// ---------------------------------------------------------------- return visit with a notice's code (一次性告知)

function renderCode() {
  const out = $("notice-code");
  const padded = code.padEnd(CODE_LEN, "·");
  out.textContent = `${padded.slice(0, 5)}-${padded.slice(5)}`;
  out.dataset.empty = code ? "0" : "1";
  $("notice-keys").dataset.full = code.length === CODE_LEN ? "1" : "0";
}

function noticeError(words) {
  $("notice-error").textContent = words;
  $("notice-error").hidden = !words;
}

function openNotice() {
  notice = null;
  code = "";
  scanned = "";
  noticeError("");
  renderCode();
  show("notice");
}

/** A key of the on-screen keypad or a character from the scanner (it types like a keyboard). */
function typeKey(key) {
  if (key === "back") code = code.slice(0, -1);
  else if (key === "clear") code = "";
  else if (CODE_ALPHABET.includes(key) && code.length < CODE_LEN) code += key;
  else return;
  noticeError("");
  renderCode();
}

async function findNotice() {
  if (busy) return;
  if (code.length !== CODE_LEN) return noticeError(t("notice_short", { n: CODE_LEN - code.length }));
  busy = true;
  $("issuing").textContent = t("notice_looking");
  $("issuing").hidden = false;
  try {
    const found = await getJSON(`/api/v1/notices/${encodeURIComponent(code)}`, { timeoutMs: 10000 });
    if (found.hall !== hallId) throw new ApiError(404, "not_found", "another hall's notice");
    if (found.used) return noticeError(t("notice_used"));
    notice = found;
    tapKey = newKey(); // one key for this return visit's 取号 tap(s)
    renderNoticeCheck();
    show("notice-check");
  } catch (err) {
    noticeError(err instanceof ApiError && err.code === "not_found" ? t("notice_unknown") : t("error_issue"));
  } finally {
    busy = false;
    $("issuing").hidden = true;
    $("issuing").textContent = t("issuing");
    renderCode();
  }
}

function renderNoticeCheck() {
  const s = byId(notice.service);
  $("notice-check-title").textContent = s ? label(s) : notice.service_name;
  const date = notice.issued_at ? hallDate(notice.issued_at) : "";
  const counter = english ? notice.counter_name_en || notice.counter_name : notice.counter_name;
  $("notice-check-first").textContent = t("notice_first", { number: notice.ticket_number || "", counter, date });
  $("notice-missing").replaceChildren(
    ...(notice.missing.length ? notice.missing : [t("guide_no_materials")]).map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
  $("notice-note").textContent = notice.note || "";
  $("notice-note-row").hidden = !notice.note;
  const open = !s || s.open;
  const error = $("notice-check-error");
  error.textContent = open ? "" : t("notice_closed");
  error.hidden = open;
  $("notice-take").hidden = !open;
  $("notice-bring").hidden = !open;
}

// ---------------------------------------------------------------- 我有预约: check in with a code (PROTOCOL v1.2)

function renderAppt() {
  const out = $("appt-code");
  const padded = apptCode.padEnd(APPT_LEN, "·");
  out.textContent = `${padded.slice(0, 4)}-${padded.slice(4)}`;
  out.dataset.empty = apptCode ? "0" : "1";
}

function apptError(words) {
  $("appt-error").textContent = words;
  $("appt-error").hidden = !words;
}

function openAppt(first = "") {
  apptCode = first;
  expiredService = null;
  $("appt-walk-in").hidden = true;
  apptError("");
  renderAppt();
  show("appt");
}

function typeAppt(key) {
  if (key === "back") apptCode = apptCode.slice(0, -1);
  else if (key === "clear") apptCode = "";
  else if (APPT_ALPHABET.includes(key) && apptCode.length < APPT_LEN) apptCode += key;
  else return;
  apptError("");
  renderAppt();
}

function apptWords(err) {
  if (!(err instanceof ApiError)) return t("error_issue");
  const body = err.body && err.body.error ? err.body.error : {};
  if (err.code === "not_found") return t("appt_unknown");
  if (err.code === "too_early") return t("appt_too_early", { time: String(body.opens_at || "").slice(11, 16) });
  if (err.code === "appointment_expired") return t("appt_expired");
  if (err.code === "already_checked_in") return t("appt_already", { number: body.number || "" });
  if (err.code === "appointment_cancelled") return t("appt_cancelled");
  if (err.code === "rate_limited") return t("error_busy");
  return t("error_issue");
}

async function checkIn(typed) {
  if (busy) return;
  if (typed.length !== APPT_LEN) return apptError(t("appt_short", { n: APPT_LEN - typed.length }));
  if (main.dataset.screen !== "appt") openAppt(typed);
  setBusy(true);
  const body = { code: typed };
  if (enrolled) body.kiosk = kioskId;
  try {
    const ticket = await postJSON(`/api/v1/halls/${encodeURIComponent(hallId)}/check-in`, body, { timeoutMs: 10000 });
    showIssued(ticket);
  } catch (err) {
    apptError(apptWords(err));
    const body = err instanceof ApiError && err.body && err.body.error ? err.body.error : {};
    expiredService = err instanceof ApiError && err.code === "appointment_expired" ? body.service || null : null;
    $("appt-walk-in").hidden = !expiredService;
  } finally {
    setBusy(false);
  }
}

async function walkIn() {
  if (!expiredService) return;
  current = expiredService;
  expiredService = null;
  tapKey = newKey();
  await take(false);
}

// ---------------------------------------------------------------- 领取结果: pick a matter's result up (PROTOCOL v1.2)

function renderPickup() {
  const out = $("pickup-case");
  // a scanned receipt link is not shown as typed (a long URL): the screen says it was scanned
  out.textContent = pickupCase ? (pickupCase.includes("/t/") ? t("pickup_scanned") : pickupCase) : "······";
  out.dataset.empty = pickupCase ? "0" : "1";
}

function pickupError(words) {
  $("pickup-error").textContent = words;
  $("pickup-error").hidden = !words;
}

function openPickup(first = "") {
  pickupCase = first;
  pickupError("");
  renderPickup();
  show("pickup");
}

function typePickup(key) {
  if (key === "back") pickupCase = pickupCase.slice(0, -1);
  else if (key === "clear") pickupCase = "";
  else if (key.length === 1 && pickupCase.length < PICKUP_MAX) pickupCase += key;
  else return;
  pickupError("");
  renderPickup();
}

function pickupWords(err) {
  if (!(err instanceof ApiError)) return t("error_issue");
  if (err.code === "not_found") return t("pickup_unknown");
  if (err.code === "not_ready") return t("pickup_not_ready");
  if (err.code === "pickup_waiting") return t("pickup_waiting");
  if (err.code === "rate_limited") return t("error_busy");
  return t("error_issue");
}

async function pickUp(typed) {
  if (busy) return;
  const value = typed.trim();
  if (!value) return pickupError(t("pickup_short"));
  if (main.dataset.screen !== "pickup") openPickup(value);
  setBusy(true);
  const body = { case: value };
  if (enrolled) body.kiosk = kioskId;
  try {
    const ticket = await postJSON(`/api/v1/halls/${encodeURIComponent(hallId)}/pickups`, body, { timeoutMs: 10000 });
    showIssued(ticket);
  } catch (err) {
    pickupError(pickupWords(err));
  } finally {
    setBusy(false);
  }
}

// ---------------------------------------------------------------- printer state

function renderPrinter() {
  main.dataset.printer = printer;
  const banner = $("printer-banner");
  const words = printer === "paper_out" ? t("banner_paper_out") : printer === "offline" ? t("banner_offline") : "";
  banner.textContent = words;
  banner.hidden = !words || !enrolled;
  if (main.dataset.screen === "issued") renderPrinterOnTicket();
}

// ---------------------------------------------------------------- wiring

$("groups").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-service]");
  if (button) openGuide(button.dataset.service);
});
$("take").addEventListener("click", () => take(false));
$("take-priority").addEventListener("click", () => {
  tapKey = null;
  show("confirm");
});
$("confirm-priority").addEventListener("click", () => take(true));
for (const button of document.querySelectorAll("[data-action]")) {
  button.addEventListener("click", () => {
    const action = button.dataset.action;
    if (action === "guide") show("guide");
    else if (action === "notice") openNotice();
    else goHome();
  });
}
$("notice-open").addEventListener("click", openNotice);
$("notice-keys").addEventListener("click", (event) => {
  const key = event.target.closest("button[data-key]");
  if (key) typeKey(key.dataset.key);
});
$("notice-find").addEventListener("click", findNotice);
$("notice-take").addEventListener("click", () => take(true));
$("appt-open").addEventListener("click", () => openAppt());
$("appt-keys").addEventListener("click", (event) => {
  const key = event.target.closest("button[data-key]");
  if (key) typeAppt(key.dataset.key);
});
$("appt-find").addEventListener("click", () => checkIn(apptCode));
$("pickup-open").addEventListener("click", () => openPickup());
$("pickup-keys").addEventListener("click", (event) => {
  const key = event.target.closest("button[data-key]");
  if (key) typePickup(key.dataset.key);
});
$("pickup-find").addEventListener("click", () => pickUp(pickupCase));
$("appt-walk-in").addEventListener("click", walkIn);
// A USB barcode/QR scanner types the code and Enter as keyboard input: on the start screen its first
// character opens the code screen; there letters and digits fill the code and Enter looks it up.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  const screen = main.dataset.screen;
  const key = event.key.length === 1 ? event.key.toUpperCase() : event.key;
  if (screen === "pickup") {
    // 领取结果: typed or scanned as is (a receipt's QR link has a case-sensitive token); Enter looks it up.
    const focused = event.target instanceof Element ? event.target.closest("button") : null;
    if (key === "Enter" && !(focused && !focused.dataset.key)) {
      event.preventDefault();
      pickUp(pickupCase);
    } else if (key === "Backspace") {
      event.preventDefault();
      typePickup("back");
    } else if (event.key.length === 1 && event.key !== " ") {
      event.preventDefault();
      typePickup(event.key); // the server reads a case number in either case
    }
    return;
  }
  if (screen === "start" || screen === "notice") {
    if (screen === "start") rawScan = "";
    if (event.key.length === 1) rawScan = (rawScan + event.key).slice(-PICKUP_MAX);
  }
  if (screen === "appt") {
    // 我有预约: the keypad's screen takes the scanner's characters and its Enter checks in.
    const focused = event.target instanceof Element ? event.target.closest("button") : null;
    if (key === "Enter" && !(focused && !focused.dataset.key)) {
      event.preventDefault();
      checkIn(apptCode);
    } else if (key === "Backspace") {
      event.preventDefault();
      typeAppt("back");
    } else if (key.length === 1 && APPT_ALPHABET.includes(key)) {
      event.preventDefault();
      typeAppt(key);
    }
    return;
  }
  // A scanner on the start screen: a notice's code (10) or a booking's (8, PROTOCOL v1.2), told apart at Enter.
  if (screen === "start" && APPT_ALPHABET.includes(key) && key.length === 1) {
    openNotice();
  } else if (screen !== "notice") {
    return;
  }
  if (key === "Enter") {
    // A scanner's Enter after a tapped key (still focused) must look the code up, not type that key again.
    const focused = event.target instanceof Element ? event.target.closest("button") : null;
    if (focused && !focused.dataset.key) return; // a focused 查询 or 返回: its own click
    event.preventDefault();
    if (rawScan.includes("/t/")) {
      // a receipt's QR (受理回执): its link opens the pick-up, not a notice
      const link = rawScan;
      rawScan = "";
      code = "";
      scanned = "";
      pickUp(link);
    } else if (scanned.length === APPT_LEN) {
      const booking = scanned;
      scanned = "";
      checkIn(booking);
    } else {
      findNotice();
    }
  } else if (key === "Backspace") {
    event.preventDefault();
    scanned = scanned.slice(0, -1);
    typeKey("back");
  } else if (key.length === 1 && APPT_ALPHABET.includes(key)) {
    event.preventDefault();
    scanned += key;
    typeKey(key);
  }
});
for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, armIdle, { passive: true });

connect("/kiosk", { kiosk: kioskId }, {
  services(list) {
    services = list;
    renderServices();
  },
  printer(message) {
    if (message && message.kiosk === kioskId && enrolled) {
      printer = message.state;
      renderPrinter();
    }
  },
});
armIdle();
main.dataset.ready = "1";
