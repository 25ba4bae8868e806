/* Check-in after a scan: ask for the position once (never in the background), stamp the
   device clock and a device-made uuid (the idempotency key), then send the form. Without
   JavaScript the form still works: it then has the server's uuid and no location. */
(function () {
  "use strict";
  var form = document.querySelector("[data-check-in-form]");
  if (!form) return;
  var status = document.querySelector("[data-status]");
  var sent = false;

  function field(name) { return form.querySelector('[name="' + name + '"]'); }

  function send(position) {
    if (sent) return;
    sent = true;
    field("scanned_at").value = String(Date.now());
    if (position) {
      field("latitude").value = String(position.coords.latitude);
      field("longitude").value = String(position.coords.longitude);
      field("accuracy").value = String(position.coords.accuracy);
      status.textContent = status.dataset.sending;
    } else {
      status.textContent = status.dataset.noLocation;
    }
    form.submit();
  }

  if (window.crypto && crypto.randomUUID) field("uuid").value = crypto.randomUUID();

  function locate() {
    if (!navigator.geolocation) { send(null); return; }
    status.textContent = status.dataset.locating;
    navigator.geolocation.getCurrentPosition(send, function () { send(null); },
      { enableHighAccuracy: true, timeout: 12000, maximumAge: 30000 });
  }

  form.addEventListener("submit", function (event) {
    if (sent) return;
    event.preventDefault();
    locate();
  });
  locate();
})();

/* "Try again" on the site card after a check-in without location: ask for the position once
   more (the guard has just allowed it) and send it for that check-in. */
(function () {
  "use strict";
  var form = document.querySelector("[data-location-retry]");
  if (!form) return;
  var status = form.querySelector("[data-status]");
  var sending = false;

  function field(name) { return form.querySelector('[name="' + name + '"]'); }

  form.addEventListener("submit", function (event) {
    if (sending) return;
    event.preventDefault();
    if (!navigator.geolocation) { status.textContent = form.dataset.failed; return; }
    status.textContent = form.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      field("latitude").value = String(position.coords.latitude);
      field("longitude").value = String(position.coords.longitude);
      field("accuracy").value = String(position.coords.accuracy);
      sending = true;
      form.submit();
    }, function () {
      status.textContent = form.dataset.failed;
    }, { enableHighAccuracy: true, timeout: 12000, maximumAge: 0 });
  });
})();
