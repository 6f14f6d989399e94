/* GridDesk service worker: shows Web Push notifications and opens the inbox when one is tapped. */
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {title: "GridDesk", body: event.data ? event.data.text() : ""}; }
  event.waitUntil(self.registration.showNotification(data.title || "GridDesk", {
    body: data.body || "",
    tag: data.message_id ? "m" + data.message_id : undefined,
    data: {url: data.url || "/"},
    lang: "zh-CN"
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
