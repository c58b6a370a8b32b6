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
