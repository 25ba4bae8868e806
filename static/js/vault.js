/* The vault: a revealed value hides itself again (issue 12: after 60 seconds, or the
   data-remask-seconds the server gives), with a visible countdown; hiding removes the value
   from the page, not just from sight. The record form shows the key-holder fields or the
   value field by category. */
(function () {
  "use strict";

  function remask(box) {
    if (!box.isConnected) return;
    clearInterval(box.vaultTimer);
    var plain = box.querySelector("[data-vault-plain]");
    if (plain) plain.remove();
    var template = box.querySelector("template[data-masked]");
    var masked = template && template.content.firstElementChild
      ? template.content.firstElementChild.cloneNode(true) : document.createElement("div");
    box.replaceWith(masked);
    if (window.htmx) window.htmx.process(masked);
  }

  function arm(box) {
    if (box.hasAttribute("data-armed")) return;
    box.setAttribute("data-armed", "");
    var seconds = parseInt(box.getAttribute("data-remask-seconds"), 10);
    if (!(seconds > 0)) seconds = 60;
    var deadline = Date.now() + seconds * 1000;
    var shown = box.querySelector("[data-countdown]");
    box.vaultTimer = setInterval(function () {
      var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      if (shown) shown.textContent = String(left);
      if (left <= 0) remask(box);
    }, 250);
    var now = box.querySelector("[data-remask-now]");
    if (now) now.addEventListener("click", function () { remask(box); });
  }

  function armAll(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("[data-vault-revealed]")) arm(root);
    root.querySelectorAll("[data-vault-revealed]").forEach(arm);
  }

  function kinds(form) {
    var category = form.querySelector("[name=category]");
    if (!category) return;
    function show() {
      var keyHolder = category.value === "key_holder";
      form.querySelectorAll("[data-vault-kind]").forEach(function (part) {
        part.hidden = (part.getAttribute("data-vault-kind") === "key_holder") !== keyHolder;
      });
    }
    category.addEventListener("change", show);
    show();
  }

  document.addEventListener("htmx:load", function (event) { armAll(event.detail.elt); });
  // Leaving the page (or the browser keeping it for "back") hides every value first.
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("[data-vault-revealed]").forEach(remask);
  });
  armAll(document.body);
  document.querySelectorAll("[data-vault-form]").forEach(kinds);
})();
