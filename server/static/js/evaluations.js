// /admin/evaluations: 重推 one failed 好差评 push or all of them (CSRF from the meta tag via postJSON).
import { postJSON } from "/static/js/hq-api.js";
import { t } from "/static/js/i18n.js";

const hall = document.querySelector("main").dataset.hall;
const message = document.getElementById("ev-message");

async function resend(body, buttons) {
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await postJSON(`/api/v1/halls/${encodeURIComponent(hall)}/evaluations/resend`, body);
    message.textContent = t("evaluations_resent", { count: answer.resent });
  } catch (err) {
    message.textContent = t("evaluations_error", { message: err.message || String(err) });
    for (const b of buttons) b.disabled = false;
  }
}

for (const button of document.querySelectorAll("[data-resend]")) {
  button.addEventListener("click", () => resend({ delivery: Number(button.dataset.resend) }, [button]));
  button.disabled = false;
}
const all = document.getElementById("ev-resend-all");
if (all) {
  all.addEventListener("click", () => resend({}, [all, ...document.querySelectorAll("[data-resend]")]));
  all.disabled = false;
}
