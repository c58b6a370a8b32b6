// /admin/matters and /counter/matters: staff open a 全程代办 or home-visit matter (POST
// /api/v1/halls/{hall}/matters, CSRF from the meta tag via postJSON) and get the link to its printable
// 代理服务委托书; the commission page's print button.
import { postJSON } from "/static/js/hq-api.js";
import { t } from "/static/js/i18n.js";

const form = document.getElementById("mx-open");
if (form) {
  const result = document.getElementById("mx-open-result");
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = (name) => form.elements[name].value.trim();
    if (!field("name") || !field("phone") || !field("id_number")) {
      result.textContent = t("matters_open_missing");
      return;
    }
    button.disabled = true;
    result.textContent = "";
    try {
      const matter = await postJSON(`/api/v1/halls/${encodeURIComponent(form.dataset.hall)}/matters`, {
        service: form.elements.service.value,
        applicant: { name: field("name"), phone: field("phone"), id_number: field("id_number") },
        proxy: form.elements.proxy.checked,
        home_visit: form.elements.home_visit.checked,
        note: field("note") || null,
      });
      const link = document.createElement("a");
      const lang = new URLSearchParams(window.location.search).get("lang"); // the page's language, kept
      link.href = `/matters/${encodeURIComponent(matter.id)}/commission${lang ? `?lang=${encodeURIComponent(lang)}` : ""}`;
      link.id = "mx-open-commission";
      link.textContent = t("matters_open_print");
      result.textContent = t("matters_opened", { number: matter.number }) + " ";
      result.append(link);
      form.elements.id_number.value = ""; // the ID number does not stay on a staff screen
      form.elements.name.value = "";
      form.elements.phone.value = "";
      form.elements.note.value = "";
    } catch (err) {
      result.textContent = t("matters_open_failed", { message: err.message || String(err) });
    } finally {
      button.disabled = false;
    }
  });
  button.disabled = false; // rendered disabled until the script runs
}

const print = document.getElementById("mx-print");
if (print) print.addEventListener("click", () => window.print());
