// The clerk's counter screen: one screen all day, every action on a key (F1–F8), live over /counter.
// The page never decides queue state: it renders GET /api/v1/counters/{id}/desk (server-rendered first,
// then fetched again on every `counter` or `waiting` event), and the server refuses what is not allowed.
import { ApiError, connect, getJSON, postJSON } from "/static/js/hq-socket.js";
import { minutesText, t } from "/static/js/i18n.js";

const main = document.getElementById("main");
const COUNTER = main.dataset.counter;
const TIMEZONE = main.dataset.timezone || undefined; // the hall's zone: the clock shows the hall's time
const ME = main.dataset.me;
const API = `/api/v1/counters/${encodeURIComponent(COUNTER)}`;
const $ = (id) => document.getElementById(id);

// Away reasons go into the ledger in the hall's own words, whatever the page's language.
const REASONS = { meeting: "会议", lunch: "午休", errand: "外出办事", leave: "请假" };
const REASON_KEYS = Object.fromEntries(Object.entries(REASONS).map(([k, v]) => [v, "reason_" + k]));
const KEYS = { F1: "call-next", F2: "recall", F3: "start", F4: "finish", F5: "no-show", F6: "transfer", F7: "call", F8: "away", F9: "park" };
// A named call's reasons, also kept in the hall's own words (the ledger's `reason`).
const CALL_REASONS = { returned: "补齐材料后返回", appointment: "约定时间", priority: "特殊照顾", other: "" };

let state = JSON.parse($("desk-state").textContent);
let skewMs = 0; // server clock minus this machine's clock, so timers agree with the server
let busy = false; // an action is on its way: keys and buttons wait (never two actions at once)
/** Busy or not; body[data-busy] tells the browser tests when the next key can act. */
function setBusy(value) {
  busy = value;
  document.body.toggleAttribute("data-busy", value);
}
let fetchSeq = 0; // desk reads asked for
let shownSeq = 0; // the read the screen shows
let refreshTimer = null;

function serverNow() {
  return Date.now() + skewMs;
}

// Waits in minutes by the one rule of every page (i18n.js minutesText: 不到1分钟, then whole minutes rounded up).
const duration = (seconds) => minutesText(Math.max(0, Math.floor(seconds)));

function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const since = (iso) => (iso ? (serverNow() - Date.parse(iso)) / 1000 : 0);
const serviceName = (id) => (state.services.find((s) => s.id === id) || { name: id }).name;
const counterName = (id) => (id === state.counter.id ? state.counter.name : (state.counters.find((c) => c.id === id) || { name: id }).name);
const reasonText = (reason) => (reason && REASON_KEYS[reason] ? t(REASON_KEYS[reason]) : reason || "");

/** What each button may do now; the server checks again and refuses anything else. */
function allowed() {
  const mine = state.counter.clerk === ME;
  const s = state.counter.state;
  const tk = state.ticket;
  const st = tk ? tk.status : null;
  const limit = tk && tk.recalls >= (state.max_recalls || Infinity);
  return {
    "call-next": mine && s === "open" && !tk,
    call: mine && s === "open" && !tk,
    park: mine && (st === "called" || st === "serving"),
    recall: mine && st === "called" && !limit,
    start: mine && st === "called",
    finish: mine && (st === "called" || st === "serving"),
    "no-show": mine && st === "called",
    transfer: mine && (st === "called" || st === "serving"),
    away: mine && ((s === "open" && !tk) || s === "away"),
    open: mine && (s === "closed" || (s === "open" && !tk)),
  };
}

function render() {
  const c = state.counter;
  const tk = state.ticket;
  const mine = c.clerk === ME;
  $("counter-state").textContent = t("state_" + c.state);
  $("counter-state").dataset.state = c.state;
  $("counter-state").className = "cq-badge cq-badge-" + c.state;
  $("counter-clerk").textContent = c.clerk || t("nobody_signed_in");
  document.body.dataset.state = c.state;
  document.body.dataset.ticket = tk ? tk.status : "none";

  const takeover = $("takeover");
  takeover.hidden = mine;
  $("takeover-text").textContent = c.clerk ? t("other_clerk", { clerk: c.clerk }) : t("not_signed_in");
  $("takeover-button").textContent = c.clerk ? t("take_over_here") : t("sign_in_now");

  const banner = $("cover-banner");
  const partner = state.partner;
  if (state.covering && partner) {
    banner.textContent = t("covering", { partner: partner.name }) + (partner.away_reason ? " · " + t("away_reason_shown", { reason: reasonText(partner.away_reason) }) : "");
    banner.hidden = false;
  } else if (c.state === "away" && partner) {
    banner.textContent = t("covered_by", { partner: partner.name }) + (c.away_reason ? " · " + t("away_reason_shown", { reason: reasonText(c.away_reason) }) : "");
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }

  $("ticket-number").textContent = tk ? tk.number : "—";
  $("current").dataset.status = tk ? tk.status : "none";
  $("ticket-service").textContent = tk ? tk.service_name : t("no_ticket");
  $("ticket-status").textContent = tk
    ? t("status_" + tk.status)
    : c.state === "closed"
      ? t("closed_hint")
      : c.state === "away"
        ? t("away_hint")
        : t("no_ticket_hint");
  const badges = [];
  if (tk && tk.priority) badges.push(["cq-flag cq-flag-priority", t("priority")]);
  if (tk && tk.appointment_at) badges.push(["cq-flag", t("flag_appointment", { time: tk.appointment_at.slice(11, 16) })]);
  if (tk && tk.pickup) badges.push(["cq-flag cq-flag-pickup", tk.pickup_number ? t("flag_pickup_case", { number: tk.pickup_number }) : t("flag_pickup")]);
  if (tk && tk.on_behalf_of) badges.push(["cq-flag", t("flag_behalf", { counter: counterName(tk.on_behalf_of) })]);
  if (tk && tk.recalls) badges.push(["cq-flag", t("recalls", { n: tk.recalls })]);
  $("ticket-badges").replaceChildren(...badges.map(([cls, text]) => Object.assign(document.createElement("span"), { className: cls, textContent: text })));

  const notes = [];
  if (tk && tk.origin) {
    const o = tk.origin;
    const who = { counter: o.counter_name, clerk: o.clerk || "—", reason: o.reason || "" };
    notes.push(["cq-note-origin", o.reason ? t("origin", who) : t("origin_no_reason", who)]);
  }
  if (tk && tk.owner && tk.owner !== c.id) notes.push(["", t("owner", { counter: tk.owner_name || tk.owner })]);
  if (tk && tk.repeat_of) {
    notes.push(["cq-note-repeat", t("repeat_visit", { number: tk.repeat_of.number, day: tk.repeat_of.day })]);
    if (tk.repeat_of.missing.length) notes.push(["cq-note-repeat", t("repeat_missing", { items: tk.repeat_of.missing.join("、") })]);
  }
  if (tk && tk.materials.length) notes.push(["cq-note-materials", t("materials") + "：" + tk.materials.join("、")]);
  $("ticket-notes").replaceChildren(
    ...notes.map(([cls, text]) => Object.assign(document.createElement("li"), { className: cls, textContent: text })),
  );

  const can = allowed();
  for (const button of document.querySelectorAll("[data-act]")) {
    button.disabled = busy || !can[button.dataset.act];
  }
  $("away-label").textContent = c.state === "away" ? t("act_back") : t("act_away");
  $("open-label").textContent = c.state === "closed" ? t("act_open") : t("act_close");

  // The recall limit reached: the page offers no-show instead of another recall.
  const limited = tk && tk.status === "called" && tk.recalls >= (state.max_recalls || Infinity);
  $("recall-limit").hidden = !limited;
  if (limited) $("recall-limit-text").textContent = t("recall_limit", { n: tk.recalls });
  $("recall-limit-no-show").disabled = busy || !can["no-show"];
  $("ticket-history").hidden = !tk;
  $("help-banner").hidden = !state.help;
  $("help-button").disabled = busy || !mine || !!state.help;

  renderQueue();
  renderParked();
  renderToday();
  $("partner-state").textContent = partner
    ? `${partner.name} · ${t("state_" + partner.state)}${partner.clerk ? " · " + partner.clerk : ""}${partner.state === "away" && partner.away_reason ? " · " + reasonText(partner.away_reason) : ""}`
    : t("partner_none");
  tick();
}

function renderQueue() {
  const rows = state.waiting.map((w) => {
    const tr = document.createElement("tr");
    const flags = [];
    if (w.priority) flags.push(t("flag_priority"));
    if (w.to_this_counter) flags.push(t("flag_here"));
    else if (w.transferred) flags.push(t("flag_transferred"));
    if (w.on_behalf_of) flags.push(t("flag_behalf", { counter: counterName(w.on_behalf_of) }));
    if (w.pickup) flags.push(t("flag_pickup"));
    const cells = [w.number, serviceName(w.service), duration(since(w.issued_at)), flags.join(" · ")];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 0) td.className = "cq-num";
      if (i === 2) td.dataset.issued = w.issued_at;
      tr.append(td);
    });
    if (w.priority) tr.className = "cq-row-priority";
    return tr;
  });
  $("waiting-rows").replaceChildren(...rows);
  $("waiting-empty").hidden = rows.length > 0;
  const more = state.waiting_total - state.waiting.length;
  $("waiting-count").textContent = t("waiting_count", { n: state.waiting_total }) + (more > 0 ? " · " + t("waiting_more", { n: more }) : "");
}

/** The parked tickets this counter may resume, oldest issue first; keys 1–9 resume them. */
function renderParked() {
  const parked = state.parked || [];
  const mine = state.counter.clerk === ME;
  const rows = parked.map((p, i) => {
    const li = document.createElement("li");
    li.className = "cq-parked-row";
    li.dataset.ticket = p.id;
    const text = document.createElement("span");
    text.className = "cq-parked-text";
    text.dataset.parkedAt = p.parked_at || "";
    text.dataset.number = p.number;
    text.dataset.kind = p.kind;
    text.textContent = parkedText(p);
    const note = p.note ? Object.assign(document.createElement("span"), { className: "hq-muted", textContent: " · " + p.note }) : null;
    const from = p.counter !== state.counter.id ? Object.assign(document.createElement("span"), { className: "hq-muted", textContent: " " + t("parked_here_from", { counter: counterName(p.counter) }) }) : null;
    const button = Object.assign(document.createElement("button"), { type: "button", className: "hq-button cq-resume" });
    button.dataset.resume = p.id;
    button.disabled = busy || !mine || state.counter.state !== "open" || !!state.ticket;
    if (i < 9) {
      button.append(Object.assign(document.createElement("kbd"), { textContent: String(i + 1) }), " ");
      button.setAttribute("aria-keyshortcuts", String(i + 1));
    }
    button.append(t("parked_resume"));
    li.append(text, ...[note, from].filter(Boolean), " ", button);
    return li;
  });
  $("parked-rows").replaceChildren(...rows);
  $("parked-empty").hidden = rows.length > 0;
  $("parked-count").textContent = rows.length ? t("parked_count", { n: rows.length }) : "";
}

function parkedText(p) {
  return t("parked_row", { number: p.number, kind: t("park_kind_" + p.kind), time: duration(since(p.parked_at)) });
}

function resume(ticketId) {
  if (busy || state.ticket || state.counter.state !== "open" || state.counter.clerk !== ME) return;
  post("resume", { ticket: ticketId }).catch(() => {});
}

function renderToday() {
  const d = state.today;
  for (const key of ["served", "completed", "incomplete", "rejected", "consulted", "no_show", "transferred", "notices"]) $("today-" + key).textContent = String(d[key]);
  $("today-avg_wait_s").textContent = d.served ? duration(d.avg_wait_s) : "—";
  $("today-avg_service_s").textContent = d.served ? duration(d.avg_service_s) : "—";
}

/** Once a second: the clock, the held ticket's timers and the queue's waits. */
function tick() {
  const now = new Date(serverNow());
  $("clock").textContent = now.toLocaleTimeString(document.documentElement.lang, { timeZone: TIMEZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  $("clock").dateTime = now.toISOString();
  const tk = state.ticket;
  if (!tk) {
    $("wait-label").textContent = t("waited", { time: "" }).trim();
    $("wait-timer").textContent = "—";
    $("service-label").textContent = t("service_timer");
    $("service-timer").textContent = "—";
  } else {
    $("wait-label").textContent = t("waited", { time: "" }).trim();
    $("wait-timer").textContent = duration(tk.wait_s);
    if (tk.status === "serving") {
      $("service-label").textContent = t("service_timer");
      $("service-timer").textContent = clockText(tk.service_s + (tk.serving_since ? since(tk.serving_since) : 0));
    } else {
      $("service-label").textContent = t("called_timer");
      $("service-timer").textContent = clockText(since(tk.called_at));
    }
  }
  for (const td of document.querySelectorAll("#waiting-rows td[data-issued]")) td.textContent = duration(since(td.dataset.issued));
  for (const el of document.querySelectorAll("#parked-rows [data-parked-at]")) {
    el.textContent = parkedText({ number: el.dataset.number, kind: el.dataset.kind, parked_at: el.dataset.parkedAt });
  }
}

function say(text, kind = "ok") {
  const message = $("message");
  message.textContent = text;
  message.dataset.kind = kind;
}

function errorText(err) {
  if (!(err instanceof ApiError)) return t("error_generic");
  if (err.status === 0) return t("error_network");
  const key = "err_" + err.code;
  const params = { partner: state.partner ? state.partner.name : "", clerk: state.counter.clerk || "" };
  const known = t(key, params);
  return known === key ? err.message || t("error_generic") : known;
}

async function refresh() {
  const seq = ++fetchSeq;
  try {
    const next = await getJSON(`${API}/desk`);
    // Answers may come back out of order: one to an older read never replaces a newer one's. But an
    // answer is shown even while a newer read is on its way: after an action, the screen must show its
    // result before the words do (the clerk's next key acts on what is shown), however slow that read.
    if (seq < shownSeq) return;
    shownSeq = seq;
    apply(next);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) window.location.assign("/login?next=" + encodeURIComponent(location.pathname));
  }
}

function apply(next) {
  if (state.help && !next.help) say(t("help_answered"), "ok"); // a supervisor acknowledged the 求助
  state = next;
  skewMs = Date.parse(next.now) - Date.now();
  render();
}

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 120);
}

const DONE = {
  "call-next": (a) => (a.ticket ? t("called", { number: a.ticket.number }) : t("nobody_waiting")),
  recall: (a) => t("recalled", { number: a.ticket.number }),
  start: (a) => t("started", { number: a.ticket.number }),
  "no-show": (a) => t("no_showed", { number: a.ticket.number }),
  transfer: (a) => t("transferred", { number: a.ticket.number }),
  call: (a) => t("named_called", { number: a.ticket.number }),
  park: (a) => t("parked", { number: a.ticket.number }),
  resume: (a) => t("resumed", { number: a.ticket.number }),
  away: () => t("went_away"),
  back: () => t("came_back"),
  open: () => t("opened"),
  close: () => t("closed"),
  finish: (a) => {
    if (a.receipt) {
      // 受理: a matter was opened; its receipt slip (受理回执) printed here, at a kiosk, or not at all
      const done = t("finished_accepted", { number: a.ticket.number, case: a.receipt.number });
      const at = a.receipt.printed_at;
      const key = at === "counter" ? "receipt_printed_here" : at === "kiosk" ? "receipt_printed" : "receipt_not_printed";
      return `${done} · ${t(key, { kiosk: a.receipt.printed_on_name || a.receipt.printed_on || "" })}`;
    }
    if (!a.notice) return t("finished", { number: a.ticket.number });
    const done = t("finished_incomplete", { number: a.ticket.number }); // a notice: materials were missing
    // where it printed: at this counter's own printer, or at a kiosk the clerk sends the resident to (by name)
    const at = a.notice.printed_at || (a.notice.printed_on ? "kiosk" : null);
    const key = at === "counter" ? "notice_printed_here" : at === "kiosk" ? "notice_printed" : "notice_not_printed";
    return `${done} · ${t(key, { code: a.notice.code, kiosk: a.notice.printed_on_name || a.notice.printed_on || "" })}`;
  },
};

/** POST one action; the answer's words go to the status line, then the whole desk is read again. */
async function post(action, body, errorBox) {
  if (busy) return null;
  setBusy(true);
  render();
  let answer;
  try {
    answer = await postJSON(`${API}/${action}`, body);
  } catch (err) {
    setBusy(false);
    await refresh();
    const text = errorText(err);
    if (errorBox) {
      errorBox.textContent = text;
      errorBox.hidden = false;
    }
    say(text, "error");
    throw err;
  }
  setBusy(false);
  await refresh(); // the words appear once the screen shows the new state, so the next key acts on it
  const words = DONE[action];
  say(words ? words(answer) : "", action === "call-next" && !answer.ticket ? "info" : "ok");
  return answer;
}

function run(act) {
  const button = document.querySelector(`[data-act="${act}"]`);
  if (!button || button.disabled) return;
  const st = state.counter.state;
  if (act === "finish") return openFinish();
  if (act === "transfer") return openTransfer();
  if (act === "no-show") return openNoShow(); // F5 sits next to F4: ending a ticket is confirmed first
  if (act === "call") return openCall();
  if (act === "park") return openPark();
  if (act === "away") return st === "away" ? post("back").catch(() => {}) : openAway();
  if (act === "open") return post(st === "closed" ? "open" : "close").catch(() => {});
  post(act).catch(() => {});
}

// ---- dialogs -------------------------------------------------------------------------------------------

function showDialog(dialog, errorBox) {
  errorBox.hidden = true;
  dialog.showModal();
  const first = dialog.querySelector("input:checked, input, textarea");
  if (first) first.focus();
}

function openFinish() {
  const tk = state.ticket;
  const dialog = $("finish-dialog");
  $("finish-form").reset();
  $("finish-title").textContent = t("finish_title", { number: tk.number });
  $("notice-materials").replaceChildren(
    ...tk.materials.map((item, i) => {
      const label = document.createElement("label");
      label.className = "cq-choice-line";
      const box = Object.assign(document.createElement("input"), { type: "checkbox", value: item, id: "material-" + i });
      label.append(box, " " + item);
      return label;
    }),
  );
  // 受理 (accepted) is for a promised service's ticket only: it opens a matter and prints its receipt
  // ... and not for a 领取 ticket: that one hands a result over (finished as completed)
  const promised = !tk.pickup && !!(state.services.find((s) => s.id === tk.service) || {}).promised;
  $("outcome-accepted-line").hidden = !promised;
  $("outcome-accepted").disabled = !promised;
  syncNotice();
  showDialog(dialog, $("finish-error"));
}

function syncNotice() {
  const outcome = $("finish-form").querySelector('input[name="outcome"]:checked');
  $("notice-fields").hidden = !outcome || outcome.value !== "incomplete";
  $("receipt-print-line").hidden = !outcome || outcome.value !== "accepted";
}

async function submitFinish(event) {
  event.preventDefault();
  const outcome = $("finish-form").querySelector('input[name="outcome"]:checked').value;
  const note = $("finish-note").value.trim() || null;
  const body = { outcome, note };
  if (outcome === "rejected" && !note) {
    // 不予受理 must tell the resident why (their page shows it): the reason is not optional here.
    $("finish-error").textContent = t("reject_need_reason");
    $("finish-error").hidden = false;
    $("finish-note").focus();
    return;
  }
  if (outcome === "accepted") body.print_receipt = $("receipt-print").checked;
  if (outcome === "incomplete") {
    const ticked = [...$("notice-materials").querySelectorAll("input:checked")].map((box) => box.value);
    const other = $("notice-other").value.split("\n").map((line) => line.trim()).filter(Boolean);
    body.missing = [...ticked, ...other];
    body.print_notice = $("notice-print").checked;
    if (!body.missing.length) {
      $("finish-error").textContent = t("notice_need_item");
      $("finish-error").hidden = false;
      return;
    }
  }
  try {
    await post("finish", body, $("finish-error"));
    $("finish-dialog").close();
  } catch {
    /* the dialog stays open with the reason shown */
  }
}

function radio(name, value, text, disabled = false) {
  const label = document.createElement("label");
  label.className = "cq-choice-line";
  const input = Object.assign(document.createElement("input"), { type: "radio", name, value, disabled });
  label.append(input, " " + text);
  return label;
}

function openTransfer() {
  const tk = state.ticket;
  $("transfer-form").reset();
  $("transfer-title").textContent = t("transfer_title", { number: tk.number });
  $("transfer-services").replaceChildren(
    // A service no open window serves is still offered (it waits for one), but the clerk sees it first.
    ...state.services
      .filter((s) => s.id !== tk.service)
      .map((s) => radio("target", "service:" + s.id, s.served_now ? s.name : `${s.name} · ${t("transfer_unserved")}`)),
  );
  $("transfer-counters").replaceChildren(
    // A closed counter serves nobody: the server would refuse it (an away one is covered by its partner).
    ...state.counters.map((c) => radio("target", "counter:" + c.id, `${c.name} · ${t("state_" + c.state)}`, c.state === "closed")),
  );
  showDialog($("transfer-dialog"), $("transfer-error"));
}

async function submitTransfer(event) {
  event.preventDefault();
  const picked = $("transfer-form").querySelector('input[name="target"]:checked');
  if (!picked) {
    $("transfer-error").textContent = t("transfer_pick");
    $("transfer-error").hidden = false;
    return;
  }
  const [kind, id] = picked.value.split(/:(.*)/s);
  const body = { [kind]: id };
  const reason = $("transfer-reason").value.trim();
  if (reason) body.reason = reason;
  try {
    await post("transfer", body, $("transfer-error"));
    $("transfer-dialog").close();
  } catch {
    /* shown in the dialog */
  }
}

function openNoShow() {
  $("no-show-title").textContent = t("no_show_title", { number: state.ticket.number });
  showDialog($("no-show-dialog"), $("no-show-error"));
  $("no-show-confirm").focus(); // Enter confirms, Esc cancels
}

async function submitNoShow(event) {
  event.preventDefault();
  try {
    await post("no-show", undefined, $("no-show-error"));
    $("no-show-dialog").close();
  } catch {
    /* shown in the dialog */
  }
}

function openAway() {
  $("away-form").reset();
  showDialog($("away-dialog"), $("away-error"));
}

async function submitAway(event) {
  event.preventDefault();
  const picked = $("away-form").querySelector('input[name="reason"]:checked');
  try {
    await post("away", { reason: REASONS[picked.value] || picked.value }, $("away-error"));
    $("away-dialog").close();
  } catch {
    /* shown in the dialog: e.g. the partner is not open (no_cover) */
  }
}

function openCall() {
  $("call-form").reset();
  $("call-waiting").replaceChildren(
    ...state.waiting
      .filter((w) => w.id)
      .map((w) => radio("call-ticket", w.id, `${w.number} · ${serviceName(w.service)} · ${duration(since(w.issued_at))}`)),
  );
  showDialog($("call-dialog"), $("call-error"));
  $("call-number").focus();
}

function dialogError(box, text, focus) {
  box.textContent = text;
  box.hidden = false;
  if (focus) focus.focus();
}

async function submitCall(event) {
  event.preventDefault();
  const typed = $("call-number").value.replace(/\s+/g, "").toUpperCase();
  const picked = $("call-form").querySelector('input[name="call-ticket"]:checked');
  const why = $("call-form").querySelector('input[name="call-reason"]:checked').value;
  const words = $("call-reason-text").value.trim();
  const reason = [CALL_REASONS[why], words].filter(Boolean).join("：");
  if (!typed && !picked) return dialogError($("call-error"), t("call_need_ticket"), $("call-number"));
  if (!reason) return dialogError($("call-error"), t("call_need_reason"), $("call-reason-text"));
  const body = typed ? { number: typed, reason } : { ticket: picked.value, reason };
  try {
    await post("call", body, $("call-error"));
    $("call-dialog").close();
  } catch {
    /* shown in the dialog: not waiting, not this counter's, no such number */
  }
}

function openPark() {
  $("park-form").reset();
  $("park-title").textContent = t("park_title", { number: state.ticket.number });
  showDialog($("park-dialog"), $("park-error"));
}

async function submitPark(event) {
  event.preventDefault();
  const kind = $("park-form").querySelector('input[name="park-kind"]:checked').value;
  const note = $("park-note").value.trim();
  try {
    await post("park", note ? { kind, note } : { kind }, $("park-error"));
    $("park-dialog").close();
  } catch {
    /* shown in the dialog */
  }
}

async function openHistory(ticketId, number) {
  $("history-title").textContent = t("history_title", { number });
  $("history-rows").replaceChildren();
  $("history-dialog").showModal();
  try {
    const lines = await getJSON(`/api/v1/tickets/${encodeURIComponent(ticketId)}/history`);
    $("history-rows").replaceChildren(
      ...lines.map((line) => {
        const tr = document.createElement("tr");
        const kind = line.named ? t("kind_named") : t("kind_" + line.kind) === "kind_" + line.kind ? line.kind : t("kind_" + line.kind);
        const reason = [line.park_kind ? t("park_kind_" + line.park_kind) : "", line.reason || ""].filter(Boolean).join(" · ");
        const at = new Date(line.at).toLocaleTimeString(document.documentElement.lang, { hour12: false });
        for (const text of [at, kind, line.counter_name || "—", line.clerk || "—", reason || "—"]) {
          tr.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        return tr;
      }),
    );
  } catch (err) {
    say(errorText(err), "error");
  }
}

// ---- wiring --------------------------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-act]")) button.addEventListener("click", () => run(button.dataset.act));
for (const button of document.querySelectorAll("dialog [data-close]")) button.addEventListener("click", () => button.closest("dialog").close());
$("finish-form").addEventListener("submit", submitFinish);
$("finish-form").addEventListener("change", syncNotice);
$("transfer-form").addEventListener("submit", submitTransfer);
$("away-form").addEventListener("submit", submitAway);
$("no-show-form").addEventListener("submit", submitNoShow);
$("call-form").addEventListener("submit", submitCall);
$("park-form").addEventListener("submit", submitPark);
// The recall limit's own no-show button is the clerk's explicit choice: no second confirmation (F5's is for a slip)
$("recall-limit-no-show").addEventListener("click", () => post("no-show").catch(() => {}));
$("help-button").addEventListener("click", () => {
  post("help", {}).then(() => say(t("help_sent"), "info")).catch(() => {});
});
$("ticket-history").addEventListener("click", () => state.ticket && openHistory(state.ticket.id, state.ticket.number));
$("parked-rows").addEventListener("click", (event) => {
  const button = event.target.closest("[data-resume]");
  if (button && !button.disabled) resume(button.dataset.resume);
});
$("takeover-button").addEventListener("click", () => {
  post("sign-in", state.counter.clerk && state.counter.clerk !== ME ? { takeover: true } : {})
    .then(() => say(t("signed_in", { counter: state.counter.name })))
    .catch(() => {});
});

document.addEventListener("keydown", (event) => {
  const dialog = document.querySelector("dialog[open]");
  if (dialog) {
    // In a dialog the digits pick an option (outcome, reason), unless the clerk is typing.
    const typing = event.target instanceof HTMLTextAreaElement || (event.target instanceof HTMLInputElement && event.target.type === "text");
    if (!typing && /^[1-9]$/.test(event.key)) {
      const options = dialog.querySelectorAll('fieldset:not([hidden]) input[type="radio"]:not(:disabled)');
      const option = options[Number(event.key) - 1];
      if (option) {
        option.checked = true;
        option.focus();
        option.dispatchEvent(new Event("change", { bubbles: true }));
        event.preventDefault();
      }
    }
    if (/^F\d+$/.test(event.key)) event.preventDefault();
    return;
  }
  const typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement;
  if (!typing && /^[1-9]$/.test(event.key)) {
    // 1–9: resume that parked ticket, in one key press
    const p = (state.parked || [])[Number(event.key) - 1];
    if (p) {
      event.preventDefault();
      resume(p.id);
    }
    return;
  }
  const act = KEYS[event.key];
  if (act) {
    event.preventDefault(); // F1 help, F3 find, F5 reload, F6 address bar: not here
    run(act);
  }
});

connect("/counter", { counter: COUNTER }, { counter: refreshSoon, waiting: refreshSoon });
skewMs = Date.parse(state.now) - Date.now();
render();
setInterval(tick, 1000);
document.body.dataset.ready = "1"; // keys are live from here on
