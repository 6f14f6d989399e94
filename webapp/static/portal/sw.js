/* GridDesk portal service worker: keeps the offline page and the app shell (CSS, JS, icons) on the phone.
   Pages always come from the network (balances and bills must never be stale); when the network is down a
   page request gets the offline page instead. Static files too are fetched first and fall back to the cache,
   so a new stylesheet is never hidden behind an old one. */
var CACHE = "portal-v1";
var SHELL = [
  "/offline",
  "/static/css/app.css",
  "/static/portal/portal.js",
  "/static/portal/icons/icon-192.png",
  "/static/portal/icons/favicon-32.png"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("portal-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match("/offline").then(function (page) {
        return page || new Response("offline", {status: 503, headers: {"Content-Type": "text/plain"}});
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 && url.pathname.indexOf("/static/notifications/") !== 0) {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(request, {ignoreSearch: true}).then(function (hit) {
        return hit || new Response("", {status: 504});
      });
    }));
  }
});
