/* GridDesk staff pages: controls wired here, since the Content-Security-Policy runs no inline handlers.
   [data-print] prints the page; a form[data-confirm] asks its question before it is sent. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) { window.print(); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
})();
