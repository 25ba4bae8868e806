/* The label picker on the sites list: ticks survive a search, a filter or another page of
   the list (htmx replaces the list, not the form that owns the ticks). The ticked set lives
   on the form; a ticked site the list does not show right now is kept as a hidden input. */
(function () {
  "use strict";
  if (window.guardpostLabelPicker) return; // a boosted visit ran this file already
  window.guardpostLabelPicker = true;

  function picker() { return document.querySelector("[data-label-picker]"); }
  function ticks() { return document.querySelectorAll("[data-label-tick]"); }

  function ticked(form) {
    if (!form.guardpostTicked) {
      form.guardpostTicked = new Set();
      form.querySelectorAll("[data-label-kept] input").forEach(function (input) {
        form.guardpostTicked.add(input.value);
      });
    }
    return form.guardpostTicked;
  }

  /* Ticks on screen from the set; hidden inputs for the rest; the count on the button. */
  function sync() {
    var form = picker();
    if (!form) return;
    var set = ticked(form);
    var shown = new Set();
    ticks().forEach(function (box) {
      box.checked = set.has(box.value);
      shown.add(box.value);
    });
    var kept = form.querySelector("[data-label-kept]");
    kept.textContent = "";
    set.forEach(function (id) {
      if (shown.has(id)) return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "site";
      input.value = id;
      kept.appendChild(input);
    });
    var count = form.querySelector("[data-label-count]");
    if (count) count.textContent = set.size ? "(" + set.size + ")" : "";
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    var form = picker();
    if (!form || !box.matches || !box.matches("[data-label-tick]")) return;
    if (box.checked) ticked(form).add(box.value);
    else ticked(form).delete(box.value);
    sync();
  });
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("htmx:historyRestore", sync);

  function start() {
    var form = picker();
    if (!form) return;
    ticks().forEach(function (box) { if (box.checked) ticked(form).add(box.value); });
    sync();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
