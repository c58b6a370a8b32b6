// Minimal call screen proving the shared base; the display issue replaces it with the real screen.
import { connect } from "/static/js/hq-socket.js";
import { t } from "/static/js/i18n.js";

const calls = document.getElementById("calls");
const waiting = document.getElementById("waiting");
let snapshots = 0;

function addCall(call, atEnd) {
  const item = document.createElement("li");
  item.textContent = t("display_call", { number: call.number, counter: call.counter_name });
  if (atEnd) calls.append(item);
  else calls.prepend(item);
}

function showWaiting(counts) {
  waiting.replaceChildren(
    ...Object.entries(counts).map(([service, count]) => {
      const item = document.createElement("li");
      item.textContent = t("display_waiting", { service, count });
      return item;
    }),
  );
}

connect("/display", { hall: calls.dataset.hall }, {
  snapshot(body) {
    snapshots += 1;
    calls.replaceChildren();
    body.calls.forEach((call) => addCall(call, true));
    showWaiting(body.waiting);
    calls.dataset.snapshots = String(snapshots);
  },
  call: (call) => addCall(call, false),
  waiting: showWaiting,
});
