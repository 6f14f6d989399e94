/* GridDesk portal: progressive enhancements only; every page works without this file. */
(function () {
  "use strict";

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () { /* no offline page then */ });
    });
  }

  function onReady(fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  }

  /* "Use my location": ask the browser, then search from there; if refused, point at the district list. */
  function setUpLocate() {
    var form = document.querySelector("[data-locate-form]");
    if (!form) { return; }
    var button = form.querySelector("[data-locate]");
    var status = form.querySelector("[data-locate-status]");
    if (!("geolocation" in navigator)) {
      status.textContent = status.dataset.denied;
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      status.textContent = status.dataset.asking;
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.lon.value = pos.coords.longitude.toFixed(6);
        form.submit();
      }, function () {
        status.textContent = status.dataset.denied;
        button.disabled = false;
        var district = document.getElementById("district");
        if (district) {
          var more = district.closest("details");
          if (more) { more.open = true; }
          district.focus();
        }
      }, {enableHighAccuracy: false, timeout: 10000, maximumAge: 300000});
    });
  }

  /* Web Push opt-in through the notifications service worker (static/notifications/push.js). */
  function setUpPush() {
    var box = document.querySelector("[data-push-optin]");
    if (!box) { return; }
    var unsupported = document.querySelector("[data-push-unsupported]");
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) { return; }
    var status = box.querySelector("[data-push-status]");
    var on = box.querySelector("[data-push-enable]");
    var off = box.querySelector("[data-push-disable]");
    box.hidden = false;
    if (unsupported) { unsupported.hidden = true; }

    function show(enabled, message) {
      on.hidden = enabled;
      off.hidden = !enabled;
      status.textContent = message || (enabled ? status.dataset.on : status.dataset.off);
    }
    function current() {
      if (Notification.permission === "denied") { return Promise.resolve(null); }
      return navigator.serviceWorker.getRegistration("/static/notifications/").then(function (reg) {
        return reg ? reg.pushManager.getSubscription() : null;
      }).then(function (sub) { return !!sub; });
    }
    current().then(function (enabled) {
      if (enabled === null) { show(false, status.dataset.denied); } else { show(enabled); }
    }).catch(function () { show(false); });

    function withScript(fn) {
      if (window.GridDeskPush) { return fn(); }
      var s = document.createElement("script");
      s.src = "/static/notifications/push.js";
      s.onload = fn;
      document.head.appendChild(s);
    }
    on.addEventListener("click", function () {
      on.disabled = true;
      withScript(function () {
        window.GridDeskPush.enable().then(function (ok) {
          on.disabled = false;
          if (ok) { show(true); } else {
            show(false, Notification.permission === "denied" ? status.dataset.denied : status.dataset.failed);
          }
        }).catch(function () { on.disabled = false; show(false, status.dataset.failed); });
      });
    });
    off.addEventListener("click", function () {
      withScript(function () {
        window.GridDeskPush.disable().then(function () { show(false); }).catch(function () { show(false); });
      });
    });
  }

  /* the offline page's "Try again" (no inline handlers under the Content-Security-Policy) */
  function setUpReload() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-reload]"), function (button) {
      button.addEventListener("click", function () { window.location.reload(); });
    });
  }

  onReady(function () { setUpLocate(); setUpPush(); setUpReload(); });
})();
