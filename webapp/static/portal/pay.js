/* The payment order page: ask GridDesk (never the browser's way back) for the order's state until it is settled,
   then show the page again with it. */
(function () {
  "use strict";
  var OPEN = { created: true, paying: true };
  function poll(box) {
    var url = box.getAttribute("data-order-url");
    var shown = box.getAttribute("data-order-status");
    if (!OPEN[shown]) { return; }
    var tries = 0;
    function ask() {
      tries += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (order) {
          if (order && order.status && order.status !== shown) { window.location.reload(); return; }
          if (tries < 300) { window.setTimeout(ask, tries < 30 ? 2000 : 10000); }
        })
        .catch(function () { if (tries < 300) { window.setTimeout(ask, 10000); } });
    }
    window.setTimeout(ask, 1500);
  }
  function start() { Array.prototype.forEach.call(document.querySelectorAll("[data-order-url]"), poll); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
