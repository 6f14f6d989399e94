/* GridDesk Web Push: GridDeskPush.enable() asks for permission, subscribes this browser with the app's VAPID key
   and registers the subscription with POST /api/v1/me/push-subscriptions (session cookie + X-CSRFToken).
   GridDeskPush.disable() undoes it. Both resolve to true/false. */
(function () {
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function registration() {
    return navigator.serviceWorker.register("/static/notifications/sw.js", {scope: "/static/notifications/"});
  }
  async function enable() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) { return false; }
    if ((await Notification.requestPermission()) !== "granted") { return false; }
    var reg = await registration();
    var key = (await (await fetch("/api/v1/push/vapid-public-key")).json()).public_key;
    var sub = await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(key)});
    var resp = await fetch("/api/v1/me/push-subscriptions", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: JSON.stringify(sub.toJSON())
    });
    return resp.ok;
  }
  async function disable() {
    if (!("serviceWorker" in navigator)) { return false; }
    var reg = await navigator.serviceWorker.getRegistration("/static/notifications/");
    var sub = reg && await reg.pushManager.getSubscription();
    if (!sub) { return true; }
    await fetch("/api/v1/me/push-subscriptions?endpoint=" + encodeURIComponent(sub.endpoint), {
      method: "DELETE", credentials: "same-origin", headers: {"X-CSRFToken": csrf()}
    });
    return sub.unsubscribe();
  }
  window.GridDeskPush = {enable: enable, disable: disable};
})();
