/* Guardpost page behaviour: CSRF header for htmx, confirmations, error toasts, service worker. */
(function () {
  "use strict";
  var me = document.currentScript;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx sends the CSRF token as a header on every non-GET request (SECURITY.md).
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") {
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
  });

  function toast(text) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  // Error fragments from the server are shown as a toast instead of being dropped silently.
  // (An element marked data-saves shows its own failures, on itself.)
  function showsItsOwn(event) {
    var elt = event.detail && event.detail.elt;
    return !!(elt && elt.closest && elt.closest("[data-saves]"));
  }
  document.addEventListener("htmx:responseError", function (event) {
    if (showsItsOwn(event)) return;
    var xhr = event.detail.xhr;
    // DOMParser builds an inert document: nothing in the response runs or loads.
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    toast((doc.body.textContent || "").trim() || String(xhr.status));
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (showsItsOwn(event)) return;
    toast(document.body.dataset.msgOffline || "");
  });

  // A form the service worker kept in the outbox (no connection, issue 11) is not swapped:
  // an item of an inspection shows it itself (inspection.js); any other form's page goes to
  // the unsent page, which says it is kept and will be sent.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.getResponseHeader("X-Outbox") !== "queued") return;
    event.detail.shouldSwap = false;
    if (showsItsOwn(event)) return;
    var outbox = document.querySelector("[data-outbox-count]");
    window.location.href = outbox.getAttribute("href") + "?queued=" +
      encodeURIComponent(xhr.getResponseHeader("X-Object-UUID") || "");
  });

  // Buttons with data-confirm ask before their form is sent.
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  if ("serviceWorker" in navigator && me && me.dataset.sw) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(me.dataset.sw, { scope: "/" }).catch(function () {});
    });
  }
})();
