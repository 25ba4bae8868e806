/* Passkeys (WebAuthn): buttons with data-passkey="register" | "sign-in" | "step-up".
 * Each asks the server for options (data-options), runs navigator.credentials, posts the
 * answer as JSON (data-finish) and follows the answer's redirect; a failure is shown in the
 * box's [data-passkey-error]. No inline script (CSP): texts come from data-passkey-texts. */
(function () {
  "use strict";
  // A boosted page swap runs this file again: one set of listeners is enough.
  if (window.guardpostPasskeys) return;
  window.guardpostPasskeys = true;
  var texts = {};

  function loadTexts() {
    var script = document.querySelector("script[data-passkey-texts]");
    try { texts = JSON.parse(script.getAttribute("data-passkey-texts") || "{}"); } catch (e) { texts = {}; }
  }

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false }; });
    });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return o;
  }

  function registrationJSON(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(r.clientDataJSON),
        attestationObject: toText(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      },
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || null
    };
  }

  function assertionJSON(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(r.clientDataJSON),
        authenticatorData: toText(r.authenticatorData),
        signature: toText(r.signature),
        userHandle: toText(r.userHandle)
      },
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || null
    };
  }

  function run(button) {
    loadTexts();
    var kind = button.getAttribute("data-passkey");
    var box = button.closest("[data-passkey-box], [data-passkey-register]") || button.parentNode;
    var error = box.querySelector("[data-passkey-error]");
    function fail(message) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (error) { error.textContent = message || texts.failed || "Error"; error.hidden = false; }
    }
    if (error) error.hidden = true;
    if (!window.PublicKeyCredential || !navigator.credentials) return fail(texts.unsupported);
    var name = "";
    if (kind === "register") {
      var input = box.querySelector('input[name="name"]');
      name = input ? input.value.trim() : "";
      if (!name) { if (input) input.focus(); return fail(texts.name); }
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    post(button.getAttribute("data-options")).then(function (answer) {
      if (answer.redirect && !answer.publicKey) { location.assign(answer.redirect); return null; }
      if (!answer.ok || !answer.publicKey) throw new Error("options");
      if (kind === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(answer.publicKey) })
          .then(function (credential) { return { credential: registrationJSON(credential), name: name }; });
      }
      return navigator.credentials.get({ publicKey: requestOptions(answer.publicKey) })
        .then(function (credential) { return { credential: assertionJSON(credential) }; });
    }).then(function (body) {
      if (!body) return null;
      return post(button.getAttribute("data-finish"), body).then(function (answer) {
        if (answer.ok && answer.redirect) location.assign(answer.redirect);
        else fail(answer.message);
      });
    }).catch(function (e) {
      if (e && (e.name === "NotAllowedError" || e.name === "AbortError")) fail(texts.cancelled);
      else if (e instanceof TypeError) fail(texts.network);
      else fail(texts.failed);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-passkey]");
    if (button) { event.preventDefault(); run(button); }
  });
  document.addEventListener("keydown", function (event) {
    // Enter in the passkey name field adds the passkey, not a plain form submission
    if (event.key === "Enter" && event.target.closest && event.target.closest("[data-passkey-register]")) {
      event.preventDefault();
      var button = event.target.closest("[data-passkey-register]").querySelector("[data-passkey]");
      if (button) run(button);
    }
  });
})();
