/* An audit run's page: follows the run's progress from the API until it is done or failed. */
(function () {
  "use strict";
  var card = document.querySelector("[data-audit-run]");
  if (!card) { return; }
  var labels = JSON.parse(card.dataset.labels);
  var url = card.dataset.url;
  function set(id, value) { document.getElementById(id).textContent = value; }
  function show(r) {
    document.getElementById("run-progress").value = r.progress;
    set("run-percent", Math.round(r.progress * 100));
    set("run-status", labels[r.status] || r.status);
    set("run-rules", r.rules_done + "/" + r.rules_total);
    set("run-accounts", r.accounts_checked);
    set("run-problems", r.counts.problems);
    set("run-new", r.counts.new);
    set("run-reopened", r.counts.reopened);
    set("run-resolved", r.counts.resolved);
    return r.status === "done" || r.status === "failed";
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (res) { return res.json(); })
      .then(function (r) { if (!show(r)) { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (card.dataset.finished !== "true") { poll(); }
})();
