/* GridDesk staff pages: controls wired here, since the Content-Security-Policy runs no inline handlers.
   [data-print] prints the page; a form[data-confirm] asks its question before it is sent; Enter in an
   input[data-enter-next] moves to the form's next such input (the reading sheet), and sends the form from the last. */
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
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.matches || !input.matches("input[data-enter-next]") || !input.form) { return; }
    var inputs = Array.prototype.slice.call(input.form.querySelectorAll("input[data-enter-next]"));
    var next = inputs[inputs.indexOf(input) + 1];
    if (next) {
      event.preventDefault();
      next.focus();
      next.select();
    }
  });
})();
