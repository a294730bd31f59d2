// Security keys (WebAuthn): registration on /mfa/keys/, use at the second step of login.
// The server sends options as JSON with base64url strings; the browser API wants bytes.
(function () {
  "use strict";

  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  }

  function toText(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { throw new Error(data.error || response.statusText); }
    return data;
  }

  function credentialJson(credential) {
    const response = credential.response;
    const json = { id: credential.id, rawId: toText(credential.rawId), type: credential.type, response: {}, clientExtensionResults: credential.getClientExtensionResults() };
    for (const name of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
      if (response[name]) { json.response[name] = toText(response[name]); }
    }
    if (response.getTransports) { json.response.transports = response.getTransports(); }
    return json;
  }

  function show(button, message) {
    const status = document.querySelector("[data-webauthn-status]");
    if (status) { status.textContent = message; status.hidden = false; }
    button.disabled = false;
  }

  async function register(button) {
    const options = await post(button.dataset.options);
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    const credential = await navigator.credentials.create({ publicKey: options });
    const name = document.querySelector("[data-webauthn-name]");
    const result = await post(button.dataset.submit, { credential: credentialJson(credential), name: name ? name.value : "" });
    window.location.assign(result.next);
  }

  async function authenticate(button) {
    const options = await post(button.dataset.options);
    options.challenge = toBytes(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
    const credential = await navigator.credentials.get({ publicKey: options });
    const result = await post(button.dataset.submit, { credential: credentialJson(credential), next: button.dataset.next });
    window.location.assign(result.next);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-webauthn]");
    if (!button) { return; }
    event.preventDefault();
    button.disabled = true;
    const action = button.dataset.webauthn === "register" ? register : authenticate;
    action(button).catch((error) => show(button, button.dataset.failed + " (" + error.message + ")"));
  });
})();
