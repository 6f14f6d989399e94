/* The archivist's desk. A multi-file filing form (form[data-batch-filing]): files dropped on its drop zone join its
   file input; each file after the first gets its own type, title, number, date and pages, prefilled from the first
   file's fields (and following them until changed). An import's page ([data-archive-import]) follows its progress. */
(function () {
  "use strict";
  var OWN = ["doc_type", "title", "document_no", "formed_on", "pages"];

  function wireBatch(form) {
    var input = form.querySelector("input[type=file][name=files]");
    var zone = form.querySelector("[data-dropzone]");
    var first = form.querySelector("[data-first-file]");
    var others = form.querySelector("[data-other-files]");
    var count = form.querySelector("[data-file-count]");
    var labels = JSON.parse(form.dataset.labels);

    function firstField(name) { return first.querySelector("[name=" + name + "]"); }

    function build() {
      var files = Array.prototype.slice.call(input.files || []);
      others.textContent = "";
      count.textContent = files.length > 1 ? labels.count.replace("%(n)s", files.length) : "";
      files.forEach(function (file, number) {
        if (number === 0) {
          var legend = first.querySelector("legend");
          legend.dataset.original = legend.dataset.original || legend.textContent;
          legend.textContent = legend.dataset.original + " · " + file.name;
          return;
        }
        var set = document.createElement("fieldset");
        set.className = "other-file";
        var legend = document.createElement("legend");
        legend.textContent = labels.file + " " + (number + 1) + " · " + file.name;
        set.appendChild(legend);
        OWN.forEach(function (name) {
          var source = firstField(name);
          var copy = source.cloneNode(true);
          copy.name = "file-" + number + "-" + name;
          copy.removeAttribute("id");
          copy.value = source.value;
          copy.dataset.follows = name;
          copy.addEventListener("input", function () { copy.dataset.changed = "true"; });
          var label = document.createElement("label");
          label.appendChild(document.createTextNode(labels[name] + " "));
          label.appendChild(copy);
          set.appendChild(label);
        });
        others.appendChild(set);
      });
    }

    first.addEventListener("input", function (event) {
      var name = event.target.name;
      if (OWN.indexOf(name) < 0) { return; }
      others.querySelectorAll("[data-follows=" + name + "]").forEach(function (field) {
        if (field.dataset.changed !== "true") { field.value = event.target.value; }
      });
    });
    input.addEventListener("change", build);
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        build();
      }
    });
    build();
  }

  function followImport(card) {
    var labels = JSON.parse(card.dataset.labels);
    function set(id, value) { document.getElementById(id).textContent = value; }
    function show(r) {
      document.getElementById("import-progress").value = r.progress;
      set("import-percent", Math.round(r.progress * 100));
      set("import-status", labels[r.status] || r.status);
      set("import-done", r.done);
      set("import-filed", r.filed);
      set("import-skipped", r.skipped);
      set("import-refused", r.refused);
      return r.status === "done" || r.status === "failed";
    }
    function poll() {
      fetch(card.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (res) { return res.json(); })
        .then(function (r) { if (show(r)) { window.location.reload(); } else { setTimeout(poll, 1000); } })
        .catch(function () { setTimeout(poll, 3000); });
    }
    if (card.dataset.finished !== "true") { poll(); }
  }

  document.querySelectorAll("form[data-batch-filing]").forEach(wireBatch);
  document.querySelectorAll("[data-archive-import]").forEach(followImport);
})();
