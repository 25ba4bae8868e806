/* "Use my location": fills latitude and longitude fields from the phone's position. */
(function () {
  "use strict";
  document.querySelectorAll("[data-fill-location]").forEach(function (button) {
    var status = button.parentElement.querySelector("[data-location-status]");
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = button.dataset.failed; return; }
      status.textContent = button.dataset.busy;
      navigator.geolocation.getCurrentPosition(function (position) {
        document.querySelector(button.dataset.lat).value = position.coords.latitude.toFixed(6);
        document.querySelector(button.dataset.lon).value = position.coords.longitude.toFixed(6);
        status.textContent = "± " + Math.round(position.coords.accuracy) + " m";
      }, function () {
        status.textContent = button.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
    });
  });
})();
