// The call screen's voice: a chime, then the announcement twice (optionally an English line), one call after
// another. A zh-CN speechSynthesis voice speaks when the machine has one; otherwise the server's WAV
// (espeak-ng or the hall's recorded clips, cached) plays. Every clip played is recorded in `log` (kind, src, ticket, start, end, duration).
import { t } from "/static/js/i18n.js";

const DIGITS = "零一二三四五六七八九";
const STALL_MS = 30000; // a clip that never ends does not stop the queue

/** "A001" -> "A 零零一": letters as letters, digits one by one (how halls read numbers). */
export function readNumber(number) {
  const letters = [...number].filter((c) => /[A-Z]/.test(c)).join(" ");
  const digits = [...number].filter((c) => /[0-9]/.test(c)).map((d) => DIGITS[Number(d)]).join("");
  return letters ? `${letters} ${digits}` : digits;
}

/** A window number as a Chinese number: 3 -> 三, 12 -> 十二, 20 -> 二十. */
export function readCount(n) {
  const tens = Math.floor(n / 10);
  const ones = n % 10;
  if (tens === 0) return DIGITS[ones];
  return (tens === 1 ? "" : DIGITS[tens]) + "十" + (ones ? DIGITS[ones] : "");
}

/** Whether the browser lets this page play sound without a click (Chromium's autoplay policy). */
export function soundAllowed() {
  const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!Context) return true;
  const probe = new Context();
  const allowed = probe.state === "running";
  probe.close();
  return allowed;
}

function zhVoice() {
  if (!globalThis.speechSynthesis) return null;
  const wanted = new URLSearchParams(location.search).get("voice");
  if (wanted === "server") return null;
  return speechSynthesis.getVoices().find((v) => v.lang.replace("_", "-").toLowerCase().startsWith("zh")) || null;
}

export class AudioQueue {
  constructor(setup, onBlocked) {
    this.setup = setup;
    this.onBlocked = onBlocked;
    this.queue = [];
    this.busy = false;
    this.log = [];
    this.waitUnlock = null;
    if (globalThis.speechSynthesis) speechSynthesis.getVoices(); // starts loading the voice list
  }

  enqueue(call) {
    this.queue.push(call);
    this.pump();
  }

  unlock() {
    if (this.waitUnlock) {
      const go = this.waitUnlock;
      this.waitUnlock = null;
      go();
    }
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length) await this.announce(this.queue.shift());
    } finally {
      this.busy = false;
    }
  }

  async announce(call) {
    await this.clip(this.setup.chime, "chime", call);
    const voice = zhVoice();
    const counterNumber = call.counter_number ?? 0;
    for (let i = 0; i < 2; i += 1) {
      if (voice) {
        const text = t("speak_zh", { number: readNumber(call.number), counter: readCount(counterNumber) });
        await this.speak(text, voice, "speech", call);
      } else {
        await this.clip(`${this.setup.audio}${call.number}-${counterNumber}.wav`, "speech", call);
      }
    }
    if (this.setup.english) {
      await this.clip(`${this.setup.audio}${call.number}-${counterNumber}.wav?lang=en`, "speech-en", call);
    }
  }

  record(kind, src, call, started, duration) {
    this.log.push({ kind, src, ticket: call.ticket, at: call.at, started, ended: performance.now(), duration });
  }

  clip(src, kind, call) {
    return new Promise((resolve) => {
      const audio = new Audio(src);
      let started = 0;
      let timer = null;
      const done = (ok) => {
        clearTimeout(timer);
        if (ok) this.record(kind, src, call, started, audio.duration);
        resolve();
      };
      audio.addEventListener("ended", () => done(true), { once: true });
      audio.addEventListener("error", () => done(false), { once: true });
      const play = () => {
        started = performance.now();
        timer = setTimeout(() => done(false), STALL_MS);
        audio.play().catch((err) => {
          clearTimeout(timer);
          if (err && err.name === "NotAllowedError") {
            // Blocked until someone touches the screen: keep this clip and play it then (never dropped).
            this.onBlocked();
            this.waitUnlock = play;
          } else {
            done(false);
          }
        });
      };
      play();
    });
  }

  speak(text, voice, kind, call) {
    return new Promise((resolve) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      const started = performance.now();
      utterance.addEventListener("end", () => {
        this.record(kind, `speech:${text}`, call, started, (performance.now() - started) / 1000);
        resolve();
      });
      utterance.addEventListener("error", () => resolve());
      speechSynthesis.speak(utterance);
    });
  }
}
