/* GridDesk maps: draws the features the page carries as JSON (service points, your position, outage areas) on
   the folium map named by the frame's data-map, and wires "Use my location". Names and titles become text,
   never markup or code; popups are HTML the server escaped. */
(function () {
  "use strict";

  function asText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function draw(frame) {
    var map = window[frame.dataset.map];
    var source = document.getElementById("map-features-" + frame.dataset.map);
    if (!map || !source || !window.L) { return; }
    L.geoJSON(JSON.parse(source.textContent), {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        if (p.role === "you") { return L.marker(latlng); }
        return L.circleMarker(latlng, {
          radius: 9, color: "#ffffff", weight: 2, fill: true, fillColor: p.colour, fillOpacity: 0.95
        });
      },
      style: function (feature) { return feature.properties.style || {}; },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        if (p.tooltip) { layer.bindTooltip(asText(p.tooltip), {sticky: true}); }
        if (p.popup_html) {
          var box = document.createElement("div");
          box.innerHTML = p.popup_html;
          layer.bindPopup(box, {maxWidth: 320});
        }
      }
    }).addTo(map);
  }

  function setUpLocate() {
    var button = document.getElementById("locate-me");
    var status = document.getElementById("locate-status");
    if (!button || !status) { return; }
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = button.dataset.unsupported; return; }
      status.textContent = button.dataset.finding;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var params = new URLSearchParams(window.location.search);
        params.set("lat", pos.coords.latitude.toFixed(6));
        params.set("lon", pos.coords.longitude.toFixed(6));
        params.delete("address");
        window.location.search = params.toString();
      }, function () { status.textContent = button.dataset.unavailable; }, {timeout: 8000, maximumAge: 60000});
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-map]"), draw);
  setUpLocate();
})();
