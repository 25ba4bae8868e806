/* Push notifications on this phone (the settings page, [data-push]).
 *
 * Shows whether this browser receives the user's pushes: it does when the browser holds a push
 * subscription that the server lists among the user's devices (the list names each device by a
 * hash of its endpoint, never the endpoint itself). "Turn on" asks for the Notification
 * permission, subscribes the service worker's PushManager with the server's VAPID public key
 * (data-public-key) and posts the subscription as JSON; the page then reloads with the device
 * listed. Texts come from data-texts (no inline script: CSP). The service worker shows what
 * arrives (templates/pwa/sw.js, "push"). */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function keyBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function tag(endpoint) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint)).then(function (hash) {
      return Array.prototype.map.call(new Uint8Array(hash), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("").slice(0, 32);
    });
  }

  function workerReady(ms) {
    return Promise.race([
      navigator.serviceWorker.ready,
      new Promise(function (resolve, reject) {
        setTimeout(function () { reject(new Error("no service worker")); }, ms);
      })
    ]);
  }

  function init(box) {
    if (box.hasAttribute("data-push-ready")) return;
    box.setAttribute("data-push-ready", "");
    var texts = {};
    try { texts = JSON.parse(box.getAttribute("data-texts") || "{}"); } catch (e) { texts = {}; }
    var state = box.querySelector("[data-push-state]");
    var button = box.querySelector("[data-push-enable]");
    var error = box.querySelector("[data-push-error]");

    function show(key, isOn) {
      state.textContent = texts[key] || "";
      box.setAttribute("data-push-status", key);
      button.hidden = !!isOn || key === "unsupported" || key === "denied";
    }

    function fail(reason) {
      error.textContent = (texts.failed || "%(reason)s").replace("%(reason)s", reason);
      error.hidden = false;
      button.disabled = false;
    }

    var supported = "serviceWorker" in navigator && "PushManager" in window &&
      "Notification" in window && window.isSecureContext;
    if (!supported) { show("unsupported"); return; }

    function refresh() {
      if (Notification.permission === "denied") { show("denied"); return Promise.resolve(); }
      return workerReady(10000).then(function (registration) {
        return registration.pushManager.getSubscription();
      }).then(function (subscription) {
        if (!subscription) { show("off"); return; }
        return tag(subscription.endpoint).then(function (mine) {
          var row = document.querySelector('[data-push-device="' + mine + '"]');
          if (row) {
            row.querySelector("[data-push-this]").hidden = false;
            show("on", true);
          } else {
            show("off");
          }
        });
      }).catch(function () { show("unsupported"); });
    }

    function subscribe(registration) {
      var options = { userVisibleOnly: true, applicationServerKey: keyBytes(box.getAttribute("data-public-key")) };
      return registration.pushManager.getSubscription().then(function (existing) {
        if (!existing) return registration.pushManager.subscribe(options);
        // Subscribed with another server key (the keys were changed): start again.
        return existing.unsubscribe().then(function () { return registration.pushManager.subscribe(options); });
      });
    }

    button.addEventListener("click", function () {
      error.hidden = true;
      button.disabled = true;
      state.textContent = texts.working || "";
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          show(permission === "denied" ? "denied" : "off");
          button.disabled = false;
          return;
        }
        return workerReady(10000).then(subscribe).then(function (subscription) {
          var json = subscription.toJSON();
          return fetch(box.getAttribute("data-subscribe"), {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
            body: JSON.stringify({ endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth })
          });
        }).then(function (response) {
          return response.json().catch(function () { return { ok: false }; });
        }).then(function (answer) {
          if (answer.ok) { window.location.reload(); return; }
          show("off");
          fail(answer.message || String(answer.error || ""));
        });
      }).catch(function (err) {
        show("off");
        fail((err && (err.message || err.name)) || "");
      });
    });

    refresh();
  }

  function start() {
    var box = document.querySelector("[data-push]");
    if (box) init(box);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:load", start);
})();
