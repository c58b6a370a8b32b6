// The page's strings, rendered by the server into <script type="application/json" id="hq-strings">
// (common plus the page's areas from server/strings/, in the page language).

let catalogue = null;

function strings() {
  if (catalogue === null) {
    const block = document.getElementById("hq-strings");
    catalogue = block ? JSON.parse(block.textContent || "{}") : {};
  }
  return catalogue;
}

/** The page language ("zh-CN" or "en"), from <html lang>. */
export function lang() {
  return document.documentElement.lang || "zh-CN";
}

/** Whether the catalogue has this key. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(strings(), key);
}

/** The string for key with {name} placeholders filled from params; a missing key shows as itself. */
export function t(key, params = {}) {
  const text = strings()[key];
  if (text === undefined) {
    console.warn(`hallq: missing string ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fill every element with data-t="key" under root with its string (for markup the module builds). */
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
}

/** Whole minutes, rounded up: 59 s and 60 s are 1, 96 s is 2, 0 is 0 (what charts draw). */
export function minutesUp(seconds) {
  return Math.max(0, Math.ceil(Math.floor(Number(seconds) || 0) / 60));
}

/**
 * Seconds as words, the one rule for every page (server/i18n.py `minutes_text` is the same): under a minute
 * is 不到1分钟 (an estimate of 0 too), else whole minutes rounded up; `about` marks an estimate (约 N 分钟).
 */
export function minutesText(seconds, about = false) {
  const s = Number(seconds) || 0;
  const n = minutesUp(s);
  if ((s > 0 && s < 60) || (about && n === 0)) return t("minutes_under");
  return t(about ? "minutes_about" : "minutes_n", { n });
}
