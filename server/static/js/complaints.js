// /admin/complaints: each case's form posts verify / resolve / dismiss with its note (CSRF from the meta tag
// via fetchJSON), then reloads the server-rendered list so the case moves to its new place.
import { postJSON } from "/static/js/hq-api.js";
import { t } from "/static/js/i18n.js";

const message = document.getElementById("cx-message");

for (const form of document.querySelectorAll(".cx-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "verify";
    const note = form.elements.note.value.trim();
    if (!note) {
      message.textContent = t("complaints_note_required");
      form.elements.note.focus();
      return;
    }
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    try {
      await postJSON(`/api/v1/complaints/${encodeURIComponent(form.dataset.id)}/${action}`, { note });
      // the list is rendered again with the case in its new place, and says what was just done
      const query = new URLSearchParams(window.location.search);
      query.set("done", action);
      query.set("case", form.closest(".cx-case").dataset.number || "");
      window.location.assign(`${window.location.pathname}?${query}`);
    } catch (err) {
      message.textContent = t("complaints_failed", { message: err.message || String(err) });
      for (const button of form.querySelectorAll("button")) button.disabled = false;
    }
  });
  for (const button of form.querySelectorAll("button")) button.disabled = false; // rendered disabled until now
}
