/* The night patrol's phone: alerts by Web Push when the phone allows them, and in any
   case a beep when the list (polled every 15 s by htmx) shows a new escalation.
   The server side is notifications/ (views.py, push.py); the service worker is
   notifications/templates/notifications/service-worker.js. */
(() => {
  "use strict";
  const box = document.getElementById("push");
  if (!box) return;
  const message = box.querySelector("[data-testid=push-message]");
  const soundHint = box.querySelector("[data-testid=push-sound]");
  const turnOn = box.querySelector("[data-testid=push-on]");
  const turnOff = box.querySelector("[data-testid=push-off]");
  const texts = box.querySelector("#push-texts").content;
  const csrfToken = document.querySelector("meta[name=csrf-token]").content;
  const key = box.dataset.key;

  const text = (name) => texts.querySelector(`[data-text="${name}"]`).textContent.trim();

  function show(state) {
    box.dataset.state = state;
    message.textContent = text(state);
    turnOn.hidden = state !== "ask";
    turnOff.hidden = state !== "on";
    updateSoundHint();
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  }

  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(raw, (character) => character.charCodeAt(0));
  }

  function sameKey(subscription) {
    const current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true;
    const wanted = keyBytes(key);
    const have = new Uint8Array(current);
    return have.length === wanted.length && have.every((byte, index) => byte === wanted[index]);
  }

  async function subscribe() {
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription)) {
      // The server's key changed: the old subscription can never be pushed to again.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    }
    // Sent on every visit: the server keeps one row per phone and audits only a new one.
    await post(box.dataset.subscribe, subscription.toJSON());
    show("on");
  }

  async function unsubscribe() {
    const registration = await navigator.serviceWorker.getRegistration(box.dataset.scope);
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (subscription) {
      await post(box.dataset.unsubscribe, { endpoint: subscription.endpoint });
      await subscription.unsubscribe();
    }
  }

  async function start() {
    if (!("serviceWorker" in navigator)) return show("unsupported");
    try {
      // Registered even without push: it makes the page installable as an app.
      await navigator.serviceWorker.register(box.dataset.serviceWorker, { scope: box.dataset.scope });
    } catch (error) {
      return show("unsupported");
    }
    if (box.dataset.patrol !== "1") return show("not_patrol");
    if (!key) return show("not_configured");
    if (!("PushManager" in window) || !("Notification" in window)) return show("unsupported");
    if (Notification.permission === "denied") return show("denied");
    if (Notification.permission !== "granted") return show("ask");
    try {
      await subscribe();
    } catch (error) {
      show("failed");
    }
  }

  turnOn.addEventListener("click", async () => {
    unlockSound();
    const permission = await Notification.requestPermission();
    if (permission !== "granted") return show(permission === "denied" ? "denied" : "ask");
    try {
      await subscribe();
    } catch (error) {
      show("failed");
    }
  });

  turnOff.addEventListener("click", async () => {
    try {
      await unsubscribe();
      show("ask");
    } catch (error) {
      show("failed");
    }
  });

  // Logging out ends this phone's alerts first: a shared phone must not ring for a
  // user who has handed it over. Never holds the logout up for more than 3 s.
  const logout = document.querySelector("form.logout");
  if (logout) {
    logout.addEventListener("submit", (event) => {
      if (box.dataset.state !== "on" || logout.dataset.unsubscribed) return;
      event.preventDefault();
      logout.dataset.unsubscribed = "1";
      const proceed = () => logout.submit();
      Promise.race([unsubscribe(), new Promise((resolve) => setTimeout(resolve, 3000))]).then(proceed, proceed);
    });
  }

  // --- The beep: the page's own alert, for a phone without push and a page in view ---
  let audio = null;

  function unlockSound() {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    if (!audio) audio = new AudioContext();
    if (audio.state === "suspended") audio.resume();
    updateSoundHint();
  }

  function updateSoundHint() {
    // Browsers let a page make sound only after a tap; say so while that is missing.
    const needsTap = box.dataset.state !== "on" && (!audio || audio.state !== "running");
    soundHint.hidden = !needsTap;
    soundHint.textContent = needsTap ? text("sound") : "";
  }

  function beep() {
    box.dataset.beeps = String(Number(box.dataset.beeps) + 1);
    if (!audio || audio.state !== "running") return;
    const start = audio.currentTime;
    for (let pulse = 0; pulse < 3; pulse += 1) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = 880;
      gain.gain.value = 0.2;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + pulse * 0.4);
      oscillator.stop(start + pulse * 0.4 + 0.25);
    }
    if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
  }

  const shown = () => new Set(Array.from(document.querySelectorAll("[data-testid=escalation]"), (card) => card.id));
  let known = shown();
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id !== "patrol-rows") return;
    const now = shown();
    const fresh = [...now].some((id) => !known.has(id));
    known = now;
    if (fresh) beep();
  });
  document.addEventListener("pointerdown", unlockSound, { once: true });
  document.addEventListener("keydown", unlockSound, { once: true });

  start();
})();
