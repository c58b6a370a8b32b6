// /admin/deliveries: 重新推送 posts a re-send (CSRF from the meta tag via postJSON) and marks the row pending.
import { postJSON } from "/static/js/hq-api.js";
import { t } from "/static/js/i18n.js";

const message = document.getElementById("dl-message");

for (const button of document.querySelectorAll("[data-resend]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const d = await postJSON(`/api/v1/deliveries/${encodeURIComponent(button.dataset.resend)}/resend`, {});
      const row = button.closest("tr");
      row.className = `dl-${d.status}`;
      row.querySelector('[data-field="status"]').textContent = t(`deliveries_status_${d.status}`);
      message.textContent = t("deliveries_resent");
    } catch (err) {
      message.textContent = t("deliveries_failed", { message: err.message || String(err) });
      button.disabled = false;
    }
  });
  button.disabled = false; // rendered disabled until this module takes over
}
