/* Loads the local copy of a browser library when its CDN copy did not arrive.
   The local copy is checked against the same SRI hash as the CDN one. document.write is
   deliberate: the copy must run while the page is still parsing (htmx initialises on
   DOMContentLoaded), which an inserted async script cannot promise. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (window[me.getAttribute("data-global")]) return;
  var src = me.getAttribute("data-src").replace(/"/g, "");
  var integrity = me.getAttribute("data-integrity").replace(/"/g, "");
  document.write(
    '<script src="' + src + '" integrity="' + integrity + '" crossorigin="anonymous"><\/script>'
  );
})();
