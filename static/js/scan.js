/* The in-app scanner: the camera through getUserMedia, decoded by the browser's
   BarcodeDetector where it exists, otherwise by jsQR; a photo of the code as a fallback.
   Only codes that point at this site's /s/<token> are followed. */
(function () {
  "use strict";
  var root = document.querySelector("[data-scanner]");
  if (!root) return;
  var video = root.querySelector("[data-video]");
  var canvas = root.querySelector("[data-canvas]");
  var status = root.querySelector("[data-status]");
  var startButton = root.querySelector("[data-start]");
  var photo = root.querySelector("[data-photo]");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var stream = null;
  var done = false;

  function say(key) { status.textContent = root.dataset[key]; }

  function follow(text) {
    var url;
    try { url = new URL(text, window.location.href); } catch (e) { return false; }
    if (url.origin !== root.dataset.origin || !/^\/s\/[A-Za-z0-9_-]+$/.test(url.pathname)) {
      say("msgForeign");
      return false;
    }
    done = true;
    say("msgFound");
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    window.location.assign(url.pathname);
    return true;
  }

  function decodeCanvas(width, height) {
    if (typeof window.jsQR !== "function") return null;
    var image = context.getImageData(0, 0, width, height);
    var found = window.jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  function decode(source, width, height) {
    if (detector) {
      return detector.detect(source).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      }).catch(function () { return null; });
    }
    canvas.width = width;
    canvas.height = height;
    context.drawImage(source, 0, 0, width, height);
    return Promise.resolve(decodeCanvas(width, height));
  }

  function tick() {
    if (done) return;
    if (video.readyState >= 2 && video.videoWidth) {
      var scale = Math.min(1, 720 / Math.max(video.videoWidth, video.videoHeight));
      decode(video, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale))
        .then(function (text) {
          if (!(text && follow(text))) setTimeout(tick, 150);
        });
    } else {
      setTimeout(tick, 150);
    }
  }

  function start() {
    startButton.hidden = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("msgDenied");
      return;
    }
    say("msgStarting");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        return video.play();
      })
      .then(function () { say("msgAim"); tick(); })
      .catch(function () { say("msgDenied"); startButton.hidden = false; });
  }

  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file) return;
    var img = new Image();
    img.onload = function () {
      var scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
      decode(img, Math.round(img.naturalWidth * scale), Math.round(img.naturalHeight * scale))
        .then(function (text) { if (!(text && follow(text))) say("msgNone"); })
        .finally(function () { URL.revokeObjectURL(img.src); });
    };
    img.src = URL.createObjectURL(file);
  });
  startButton.addEventListener("click", start);

  var ready = Promise.resolve();
  if ("BarcodeDetector" in window && window.BarcodeDetector.getSupportedFormats) {
    ready = window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") !== -1) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    }).catch(function () {});
  }
  ready.then(start);
})();
