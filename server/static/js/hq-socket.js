// The pages' Socket.IO connection: reconnects with backoff, reports online/reconnecting, and replays the
// server's snapshot on every (re)connect (each namespace sends its full state on connect; docs/api.md).
import { io } from "/static/vendor/socket.io.esm.min.js";

export { ApiError, csrfToken, fetchJSON, getJSON, postJSON } from "/static/js/hq-api.js";

const MARK_DELAY_MS = 1500; // a blip shorter than this does not flash the mark

/**
 * Show or hide base.html's discreet #hq-conn mark for a status; the default status callback.
 * The mark appears only once the connection has been down for `delayMs`.
 */
export function connectionMark(element = document.getElementById("hq-conn"), delayMs = MARK_DELAY_MS) {
  let timer = null;
  return (status) => {
    if (!element) return;
    document.documentElement.dataset.hqConnection = status;
    if (status === "online") {
      clearTimeout(timer);
      timer = null;
      element.hidden = true;
    } else if (timer === null && element.hidden) {
      timer = setTimeout(() => {
        timer = null;
        element.hidden = false;
      }, delayMs);
    }
  };
}

/**
 * Connect to a namespace ("/display", "/kiosk", "/counter", "/admin", "/track").
 *
 * query:    the connect query, e.g. {hall: "town"}.
 * handlers: {eventName: (data, meta) => void}; meta.fresh is true for the first message of that event after
 *           each (re)connect, i.e. the snapshot: rebuild the view from it rather than patch.
 * options:  onStatus(status, detail): "online" | "reconnecting" | "refused" (the server turned the namespace
 *           down, e.g. an unknown hall or an expired login; retried with backoff); default: connectionMark().
 *           auth: the connect auth payload ({token}); socketOptions: passed to io().
 * Returns {socket, status(), emit(event, data), request(event, data, timeoutMs) -> Promise, close()}.
 */
export function connect(namespace, query = {}, handlers = {}, options = {}) {
  const onStatus = options.onStatus || connectionMark();
  const socket = io(namespace, {
    query,
    auth: options.auth,
    transports: ["websocket", "polling"], // websocket first; polling when a proxy blocks it
    tryAllTransports: true,
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 10000,
    randomizationFactor: 0.5,
    timeout: 10000,
    ...(options.socketOptions || {}),
  });
  let status = "reconnecting";
  let closed = false;
  let refusals = 0;
  let retryTimer = null;
  let seen = new Set();

  const report = (next, detail) => {
    status = next;
    onStatus(next, detail);
  };

  socket.on("connect", () => {
    refusals = 0;
    seen = new Set(); // the next message of each event is the fresh snapshot
    report("online");
  });
  socket.on("disconnect", (reason) => {
    if (closed) return;
    report("reconnecting", reason);
    if (reason === "io server disconnect") socket.connect(); // the server dropped us; the client will not retry
  });
  socket.on("connect_error", (err) => {
    if (closed) return;
    if (socket.active) {
      report("reconnecting", err && err.message); // the manager retries with backoff by itself
      return;
    }
    // The namespace refused us; socket.io does not retry that, so we do, slowly.
    report("refused", err && err.message);
    refusals += 1;
    const delay = Math.min(60000, 1000 * 2 ** Math.min(refusals, 6)) * (0.75 + Math.random() / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => closed || socket.connect(), delay);
  });
  for (const [event, handler] of Object.entries(handlers)) {
    socket.on(event, (data) => {
      const fresh = !seen.has(event);
      seen.add(event);
      handler(data, { fresh });
    });
  }
  onStatus(status);

  return {
    socket,
    status: () => status,
    emit: (event, data) => socket.emit(event, data),
    request: (event, data, timeoutMs = 10000) => socket.timeout(timeoutMs).emitWithAck(event, data),
    close() {
      closed = true;
      clearTimeout(retryTimer);
      socket.close();
    },
  };
}
