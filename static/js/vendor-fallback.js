/* Loads the local copy of a browser library when its CDN copy did not arrive.
   The local copy is checked against the same SRI hash as the CDN one. */
(function () {
  "use strict";
  var me = document.currentScript;
  var name = me.getAttribute("data-global");
  if (window[name]) return;
  var script = document.createElement("script");
  script.src = me.getAttribute("data-src");
  script.integrity = me.getAttribute("data-integrity");
  script.crossOrigin = "anonymous";
  document.head.appendChild(script);
})();
