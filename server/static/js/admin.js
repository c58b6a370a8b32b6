// /admin: the supervisor's console. The server renders the first state; the /admin namespace then says when
// queues, windows, alerts or the notice change, and the page re-reads /dashboard (one read model, no drift).
import { connect, fetchJSON, getJSON } from "/static/js/hq-socket.js";
import { has, minutesText, minutesUp, t } from "/static/js/i18n.js";
import "/static/vendor/chart.umd.min.js";

const main = document.getElementById("main");
const hall = main.dataset.hall;
const api = `/api/v1/halls/${encodeURIComponent(hall)}`;
const names = JSON.parse(document.getElementById("admin-names").textContent);
let state = JSON.parse(document.getElementById("admin-state").textContent);
const alerts = new Map(state.alerts.map((a) => [a.id, a]));

const minutes = (s) => minutesText(s); // the one rule for minutes (i18n.js)
const text = (el, value) => { if (el) el.textContent = value; };
const windowName = (id) => names.counters[id] || id;
const serviceName = (id) => names.services[id] || id;
const kioskName = (id) => state.kiosks.find((k) => k.id === id)?.name || id; // "二楼取号机", not "k2"

/** An open window with nobody at it is 空闲, not 办理中 (the same rule as admin.html). */
const windowState = (w) => (w.state === "open" && !w.ticket ? "state_idle" : `state_${w.state}`);
/** A word from the catalogue for a machine name (event kind, status), or the name itself when none. */
const named = (prefix, name) => (has(prefix + name) ? t(prefix + name) : name);

/** Why call-next chose a ticket (the engine's words, server/engine/rules.py) in the page's language. */
function callReason(reason) {
  if (reason.startsWith("transferred to this counter")) return t("call_reason_transferred");
  if (reason.startsWith("priority ticket")) return t("call_reason_priority");
  const after = /after (\d+) priority calls/.exec(reason);
  if (after) return t("call_reason_after_priority", { n: after[1] });
  if (reason.startsWith("oldest waiting ticket")) return t("call_reason_oldest");
  return reason;
}

/** One ledger detail value in words: names for services and windows, outcomes and yes/no. */
function detailValue(kind, key, value) {
  if (Array.isArray(value)) return value.map((v) => detailValue(kind, key, v)).join("、");
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  if (key === "outcome") return named("outcome_", String(value));
  if (key === "reason" && kind === "called") return callReason(String(value));
  if (/service/.test(key)) return serviceName(String(value));
  if (/counter|owner|partner|covered_by|moved_to/.test(key)) return windowName(String(value));
  if (key === "level") return named("rating_", String(value));
  return String(value);
}

function renderLive() {
  text(document.getElementById("live-at"), t("live_at", { at: state.at.slice(11, 19) }));
  for (const key of ["issued", "served", "completed", "incomplete", "rejected", "consulted", "no_show", "waiting"]) text(document.getElementById(`today-${key}`), state.today[key]);
  for (const s of state.services) {
    const row = document.querySelector(`tr[data-service="${CSS.escape(s.id)}"]`);
    if (!row) continue;
    text(row.querySelector('[data-field="waiting"]'), s.waiting);
    text(row.querySelector('[data-field="longest"]'), s.waiting ? minutes(s.longest_wait_s) : t("none"));
    const served = row.querySelector('[data-field="served_now"]');
    served.textContent = s.served_now ? t("served_now_yes") : t("served_now_no");
    served.className = s.served_now ? "hq-ok" : s.waiting ? "hq-bad" : "hq-idle";
  }
  for (const w of state.windows) {
    const row = document.querySelector(`tr[data-window="${CSS.escape(w.id)}"]`);
    if (!row) continue;
    const st = row.querySelector('[data-field="state"]');
    st.textContent = t(windowState(w));
    st.className = `hq-state-${w.state}`;
    text(row.querySelector('[data-field="ticket"]'), w.ticket || t("none"));
    text(row.querySelector('[data-field="clerk"]'), w.clerk || t("none"));
    let cover = t("none");
    if (w.covering) cover = t("cover_covering", { window: windowName(w.covering) });
    else if (w.covered_by) cover = t("cover_covered_by", { window: windowName(w.covered_by) });
    text(row.querySelector('[data-field="cover"]'), cover);
  }
  for (const k of state.kiosks) {
    const cell = document.querySelector(`tr[data-kiosk="${CSS.escape(k.id)}"] td`);
    if (cell) { cell.textContent = t(`printer_${k.printer}`); cell.className = `hq-printer-${k.printer}`; }
  }
}

function alertText(a) {
  const d = a.detail || {};
  const values = {
    number: d.number || "", service: serviceName(d.service || ""), due_at: (d.due_at || "").slice(0, 16).replace("T", " "),
    kiosk: kioskName(d.kiosk || ""), state: d.state ? t(`printer_${d.state}`) : "",
    target: d.target || "", failed: d.failed || 0, retrying: d.retrying || 0,
    window: windowName(d.counter || ""), clerk: d.clerk || t("none"),
  };
  return `${a.raised_at.slice(11, 16)} ${t(`alert_${a.kind}`, values)}`;
}

function renderAlerts() {
  const list = document.getElementById("alert-list");
  list.replaceChildren(...[...alerts.values()].map((a) => {
    const li = document.createElement("li");
    li.dataset.alert = a.id;
    li.className = `hq-alert-${a.kind}`;
    li.textContent = alertText(a);
    if (a.kind === "help") { // 求助: a supervisor answers it here
      const ack = cell("button", t("help_ack"), "hq-button");
      ack.type = "button";
      ack.dataset.ack = a.id;
      li.append(" ", ack);
    }
    return li;
  }));
  document.getElementById("alerts-none").hidden = alerts.size > 0;
}

let refreshing = null;
function refresh() { // coalesce bursts of events into one read
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    try { state = await getJSON(`${api}/dashboard`); renderLive(); } catch (e) { console.warn("dashboard", e); }
  }, 150);
}

document.getElementById("alert-list").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-ack]");
  if (!button || button.disabled) return;
  button.disabled = true;
  try {
    const done = await fetchJSON(`/api/v1/alerts/${encodeURIComponent(button.dataset.ack)}/acknowledge`, { method: "POST", body: {} });
    alerts.delete(done.id);
    renderAlerts();
  } catch (e) { button.disabled = false; console.warn("acknowledge", e); }
});

connect("/admin", { hall }, {
  counters: refresh,
  waiting: refresh,
  alerts(list) { alerts.clear(); for (const a of list) alerts.set(a.id, a); renderAlerts(); },
  alert(a) { if (a.cleared_at) alerts.delete(a.id); else alerts.set(a.id, a); renderAlerts(); refresh(); },
  notice(n) { const input = document.getElementById("notice-text"); if (document.activeElement !== input) input.value = n.text; },
});

function said(id, message, bad = false) {
  const el = document.getElementById(id);
  el.textContent = message;
  el.classList.toggle("hq-error", bad);
}

function onSubmit(id, action) {
  document.getElementById(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try { await action(new FormData(form)); } finally { button.disabled = false; }
  });
}

async function findTicket(number, date) {
  const q = new URLSearchParams({ number, date });
  return getJSON(`${api}/history?${q}`);
}

onSubmit("reprint-form", async (data) => {
  try {
    const found = await findTicket(String(data.get("number")).trim().toUpperCase(), data.get("date"));
    await fetchJSON(`/api/v1/tickets/${encodeURIComponent(found.ticket.id)}/reprint`, { method: "POST", body: {} });
    said("reprint-result", t("reprint_done", { number: found.ticket.number }));
  } catch (e) { said("reprint-result", e.message || t("error_generic"), true); }
});

onSubmit("notice-form", async (data) => {
  try {
    await fetchJSON(`${api}/notice`, { method: "PUT", body: { text: String(data.get("text")) } });
    said("notice-result", t("notice_saved"));
  } catch (e) { said("notice-result", e.message || t("error_generic"), true); }
});

onSubmit("close-day-form", async (data) => {
  try {
    const body = data.get("date") ? { date: data.get("date") } : {};
    const done = await fetchJSON(`${api}/close-day`, { method: "POST", body });
    said("close-day-result", t("close_day_done", { date: done.date, n: done.closed_out }));
    refresh();
  } catch (e) { said("close-day-result", e.message || t("error_generic"), true); }
});

// -- reports ------------------------------------------------------------------------------------
const charts = {};
function chart(id, labels, values, label) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new globalThis.Chart(document.getElementById(id), {
    type: "bar",
    data: { labels, datasets: [{ label, data: values, backgroundColor: "#0b3d91" }] },
    options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
}

function pct(v) { return v === null || v === undefined ? t("none") : `${(v * 100).toFixed(1)}%`; }

function cell(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

function renderReport(r) {
  const out = document.getElementById("report-output");
  const dl = document.createElement("dl");
  dl.className = "hq-tiles";
  const figures = [
    ["report_issued", r.issued], ["report_served", r.served], ["report_completed", r.completed],
    ["report_incomplete", r.incomplete], ["report_rejected", r.rejected], ["report_consulted", r.consulted], ["report_no_show", r.no_show],
    ["report_closed_out", r.closed_out], ["report_avg_wait", minutes(r.avg_wait_s)],
    ["report_p90_wait", minutes(r.p90_wait_s)], ["report_max_wait", minutes(r.max_wait_s)],
    ["report_avg_service", minutes(r.avg_service_s)], ["report_satisfaction", pct(r.satisfaction_rate)],
    ["report_on_behalf", r.on_behalf], ["report_uncovered", minutes(r.uncovered.uncovered_s)],
    ["report_first_ask", pct(r.first_ask.completion_rate)], ["report_promised", pct(r.promised.rate)],
    ["report_complaints_on_time", `${r.complaints.closed_on_time} / ${r.complaints.closed}`],
  ];
  for (const [key, value] of figures) {
    const div = document.createElement("div");
    div.append(cell("dt", t(key)), cell("dd", value));
    dl.append(div);
  }
  const table = document.createElement("table");
  table.className = "hq-table";
  table.append(cell("caption", t("report_by_service")));
  const head = document.createElement("tr");
  for (const key of ["col_service", "col_issued", "col_in", "col_out", "col_served", "col_completed", "col_incomplete", "col_rejected", "col_consulted", "col_no_show", "col_closed_out", "col_avg_wait"]) {
    const th = cell("th", t(key)); th.scope = "col"; head.append(th);
  }
  const thead = document.createElement("thead"); thead.append(head);
  const tbody = document.createElement("tbody");
  for (const row of r.by_service) {
    const tr = document.createElement("tr");
    const th = cell("th", serviceName(row.service)); th.scope = "row";
    tr.append(th, ...[row.issued, row.transferred_in, row.transferred_out, row.served, row.completed, row.incomplete, row.rejected, row.consulted, row.no_show, row.closed_out].map((v) => cell("td", v, "num")), cell("td", minutes(row.avg_wait_s), "num"));
    tbody.append(tr);
  }
  table.append(thead, tbody);
  out.replaceChildren(dl, table);
  chart("chart-waits", r.by_hour.map((h) => `${String(h.hour).padStart(2, "0")}:00`), r.by_hour.map((h) => minutesUp(h.avg_wait_s)), t("chart_minutes"));
  chart("chart-ratings", ["5", "4", "3", "2", "1"].map((l) => t(`rating_${l}`)), ["5", "4", "3", "2", "1"].map((l) => r.ratings[l]), t("chart_ratings_count"));
}

async function showReport(from, to) {
  const q = new URLSearchParams({ from, to });
  for (const [id, fmt] of [["export-csv", "csv"], ["export-xlsx", "xlsx"]]) {
    document.getElementById(id).href = `${api}/reports/range?${q}&format=${fmt}`;
  }
  document.getElementById("export-ledger").href = `${api}/ledger?${q}&format=xlsx`;
  try { renderReport(await getJSON(`${api}/reports/range?${q}`)); } catch (e) {
    document.getElementById("report-output").replaceChildren(cell("p", e.message || t("error_generic"), "hq-error"));
  }
}

onSubmit("report-form", async (data) => showReport(data.get("from"), data.get("to")));
showReport(document.getElementById("report-from").value, document.getElementById("report-to").value);

// -- from any number down to the ticket's full history -------------------------------------------
function renderHistory(found) {
  const table = document.createElement("table");
  table.className = "hq-table";
  table.append(cell("caption", t("history_caption", { number: found.ticket.number, service: serviceName(found.ticket.service), status: named("ticket_status_", found.ticket.status) })));
  const head = document.createElement("tr");
  for (const key of ["col_time", "col_event", "col_window", "col_clerk", "col_detail"]) { const th = cell("th", t(key)); th.scope = "col"; head.append(th); }
  const thead = document.createElement("thead"); thead.append(head);
  const tbody = document.createElement("tbody");
  for (const e of found.events) {
    const tr = document.createElement("tr");
    const detail = Object.entries(e.detail || {}).map(([k, v]) => `${named("detail_", k)}：${detailValue(e.kind, k, v)}`).join("；");
    tr.append(cell("td", e.at.slice(11, 19)), cell("td", t("event_with_id", { event: named("event_", e.kind), id: e.id })), cell("td", e.counter ? windowName(e.counter) : t("none")), cell("td", e.clerk || t("none")), cell("td", detail));
    tbody.append(tr);
  }
  table.append(thead, tbody);
  document.getElementById("lookup-output").replaceChildren(table);
  shown = found.ticket;
  document.getElementById("correct-form").hidden = false;
  said("correct-result", "");
}

// -- a supervisor's corrections of the ticket looked up (PROTOCOL v1.2): named call, reactivate, cancel --
let shown = null; // the ticket the lookup shows
async function correct(action) {
  const reason = document.getElementById("correct-reason").value.trim();
  if (!reason) { said("correct-result", t("correct_need_reason"), true); document.getElementById("correct-reason").focus(); return; }
  const ticket = shown;
  const counter = document.getElementById("correct-counter").value;
  try {
    if (action === "call") {
      await fetchJSON(`/api/v1/counters/${encodeURIComponent(counter)}/call`, { method: "POST", body: { ticket: ticket.id, reason } });
    } else {
      await fetchJSON(`/api/v1/tickets/${encodeURIComponent(ticket.id)}/${action}`, { method: "POST", body: { reason } });
    }
    document.getElementById("correct-reason").value = "";
    await lookup({ ticket: ticket.id }); // the history shows the new ledger line
    said("correct-result", t(`correct_done_${action}`, { number: ticket.number, window: windowName(counter) }));
    refresh();
  } catch (e) { said("correct-result", e.message || t("error_generic"), true); }
}
for (const button of document.querySelectorAll("[data-correct]")) {
  button.addEventListener("click", async () => {
    if (!shown || button.disabled) return;
    button.disabled = true;
    try { await correct(button.dataset.correct); } finally { button.disabled = false; }
  });
}

async function lookup(query) {
  try { renderHistory(await getJSON(`${api}/history?${new URLSearchParams(query)}`)); } catch (e) {
    document.getElementById("lookup-output").replaceChildren(cell("p", e.status === 404 ? t("lookup_none") : (e.message || t("error_generic")), "hq-error"));
  }
}

onSubmit("lookup-form", async (data) => lookup({ number: String(data.get("number")).trim().toUpperCase(), date: data.get("date") }));
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-lookup]");
  if (link) lookup({ ticket: link.dataset.lookup });
});
renderAlerts();
main.dataset.ready = "1"; // every form is taken over from here on (before this, a submit would reload the page)
