// The window screen: its state is server-rendered; on every change in the hall (a call, a count, a counter
// opening, closing or handing over) it refetches this window's small public state.
import { connect, getJSON } from "/static/js/hq-socket.js";
import { t } from "/static/js/i18n.js";

const main = document.getElementById("main");
const label = document.getElementById("win-label");
const number = document.getElementById("win-number");
const message = document.getElementById("win-message");
const clerk = document.getElementById("win-clerk");
let state = JSON.parse(document.getElementById("window-state").textContent);
let pending = null;

function draw(next) {
  state = next;
  main.dataset.state = state.state;
  const serving = state.state === "open" && Boolean(state.serving);
  label.hidden = !serving;
  number.hidden = !serving;
  number.textContent = state.serving || "";
  message.hidden = serving;
  if (state.covered_by) message.textContent = t("window_covered", { number: state.covered_by });
  else if (state.state !== "open") message.textContent = t("window_closed");
  else message.textContent = t("window_idle");
  clerk.hidden = !state.staffed; // the window's state only: never the signed-in account's name
  clerk.textContent = t("window_clerk");
}

function refresh() {
  // Several events in a burst make one fetch.
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try {
      draw(await getJSON(`/display/counter/${encodeURIComponent(state.counter)}/state`));
    } catch {
      // the next event or reconnect fetches again
    }
  }, 100);
}

connect("/display", { hall: state.hall }, { snapshot: refresh, call: refresh, waiting: refresh });
