/* GridDesk service desk: set the place of a fault from the phone's position or by tapping the map.
   The latitude and longitude fields stay visible and editable: the form works without this file. */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  }

  function setUpPin() {
    var form = document.querySelector("[data-pin-form]");
    if (!form) { return; }
    var status = form.querySelector("[data-pin-status]");
    var button = form.querySelector("[data-locate-pin]");
    var frame = form.querySelector("[data-map]");
    var map = frame ? window[frame.dataset.map] : null;
    var marker = null;

    function place(lat, lon, move) {
      form.elements.lat.value = lat.toFixed(6);
      form.elements.lon.value = lon.toFixed(6);
      if (map && window.L) {
        if (marker) { marker.setLatLng([lat, lon]); } else { marker = L.marker([lat, lon]).addTo(map); }
        if (move) { map.setView([lat, lon], 17); }
      }
    }

    if (map && window.L) {
      map.on("click", function (event) {
        /* a tap on the map is in the tiles' own coordinates; the form's coords field says which */
        place(event.latlng.lat, event.latlng.lng, false);
        status.textContent = button.dataset.found;
      });
    }
    if (!button) { return; }
    if (!("geolocation" in navigator)) { button.disabled = true; return; }
    button.addEventListener("click", function () {
      status.textContent = button.dataset.asking;
      navigator.geolocation.getCurrentPosition(function (pos) {
        /* the phone reports WGS-84 */
        form.elements.coords.value = "wgs84";
        place(pos.coords.latitude, pos.coords.longitude, true);
        status.textContent = button.dataset.found;
      }, function () {
        status.textContent = button.dataset.denied;
      }, {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000});
    });
  }

  onReady(setUpPin);
})();
