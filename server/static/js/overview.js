// /admin/overview: re-reads GET /api/v1/overview every 10 s and redraws the halls, grouped by region in the
// server's order (the ones needing attention first); each hall's name opens its /admin.
import { fetchJSON } from "/static/js/hq-api.js";
import { t } from "/static/js/i18n.js";

const root = document.getElementById("overview");
const updated = document.getElementById("ov-updated");
const COLUMNS = ["waiting", "longest_wait_s", "open_counters", "uncovered_counters", "served_today",
  "satisfaction_rate_30d", "open_complaints", "overdue_matters"];

function cell(key, value) {
  if (key === "longest_wait_s") return t("overview_minutes", { n: Math.floor(value / 60) });
  if (key === "satisfaction_rate_30d") return value === null ? "—" : `${Math.round(value * 100)}%`;
  return String(value);
}

function draw(rows) {
  const groups = new Map();
  for (const row of rows) {
    if (!groups.has(row.region)) groups.set(row.region, []);
    groups.get(row.region).push(row);
  }
  for (const [region, halls] of groups) {
    const section = root.querySelector(`section[data-region="${CSS.escape(region)}"]`);
    const body = section && section.querySelector("tbody");
    if (!body) { window.location.reload(); return; } // a hall or region the page does not have yet
    body.replaceChildren(...halls.map((h) => {
      const tr = document.createElement("tr");
      tr.dataset.hall = h.hall;
      if (h.uncovered_counters || h.overdue_matters) tr.className = "ov-attention";
      const name = document.createElement("td");
      const link = document.createElement("a");
      link.href = `/admin?hall=${encodeURIComponent(h.hall)}`;
      link.textContent = h.name;
      name.append(link);
      tr.append(name, ...COLUMNS.map((key) => {
        const td = document.createElement("td");
        td.textContent = cell(key, h[key]);
        return td;
      }));
      return tr;
    }));
  }
  updated.textContent = t("overview_updated", { time: new Date().toLocaleTimeString() });
}

async function refresh() {
  try {
    draw(await fetchJSON("/api/v1/overview"));
  } catch (err) {
    console.warn("hallq: overview refresh failed", err);
  }
}

setInterval(refresh, 10000);
