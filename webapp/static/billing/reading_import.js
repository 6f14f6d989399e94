/* A reader file's page: follows the import's progress from the API, and shows the report once it is done. */
(function () {
  "use strict";
  var card = document.querySelector("[data-reading-import]");
  if (!card) { return; }
  var labels = JSON.parse(card.dataset.labels);
  var url = card.dataset.url;
  function set(id, value) { document.getElementById(id).textContent = value; }
  function show(r) {
    document.getElementById("import-progress").value = r.progress;
    set("import-percent", Math.round(r.progress * 100));
    set("import-status", labels[r.status] || r.status);
    set("import-done", r.done);
    set("import-billed", r.billed);
    set("import-held", r.held);
    set("import-refused", r.refused);
    return r.status === "done" || r.status === "failed";
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (res) { return res.json(); })
      .then(function (r) { if (show(r)) { window.location.reload(); } else { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (card.dataset.finished !== "true") { poll(); }
})();
