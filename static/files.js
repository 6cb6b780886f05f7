// The composer's files, loaded by app.js when first needed: a chip per file (name, size, ×), the
// files joined to the form's own input so that htmx (or the browser) sends them, and the upload's progress.
(function () {
  "use strict";
  if (window.answerFiles) return;

  // The chips, the progress bar and their look come with this script, not with every page.
  var box = document.getElementById("composer-files");
  var style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = box.dataset.style;
  document.head.appendChild(style);
  var chips = document.createElement("ul");
  chips.className = "chips";
  chips.setAttribute("aria-label", box.querySelector("label").textContent);
  var bar = document.createElement("progress");
  bar.max = 100;
  bar.hidden = true;
  box.append(chips, bar);

  function input() { return document.getElementById("attach"); }
  function form() { return document.getElementById("composer"); }

  function keep(files) {
    var kept = new DataTransfer();
    files.forEach(function (file) { kept.items.add(file); });
    input().files = kept.files;
    show();
  }

  function add(added) {
    keep(Array.prototype.slice.call(input().files).concat(Array.prototype.slice.call(added)));
  }

  function show() {
    var remove = box.dataset.remove;
    chips.textContent = "";
    Array.prototype.forEach.call(input().files, function (file, index) {
      var chip = document.createElement("li");
      chip.className = "chip";
      var name = document.createElement("span");
      name.className = "chip-name";
      name.textContent = name.title = file.name;
      var size = document.createElement("span");
      size.className = "chip-size";
      size.textContent = sizeOf(file.size);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "chip-remove";
      button.dataset.index = String(index);
      button.setAttribute("aria-label", remove + " " + file.name);
      button.textContent = "×";
      chip.append(name, size, button);
      chips.appendChild(chip);
    });
    // Multipart only when files go with the question.
    if (input().files.length) form().setAttribute("enctype", "multipart/form-data");
    else form().removeAttribute("enctype");
  }

  function sizeOf(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.chip-remove") : null;
    if (!button) return;
    var index = Number(button.dataset.index);
    keep(Array.prototype.slice.call(input().files).filter(function (_, at) { return at !== index; }));
    input().focus();
  });

  // A large upload shows how far it got (the request's upload, then its small reply).
  var PROGRESS_FROM = 256 * 1024;
  function progress(detail) {
    var going = detail && detail.lengthComputable && detail.total >= PROGRESS_FROM && detail.loaded < detail.total;
    bar.hidden = !going;
    // Rounded down: the bar is full only once every byte is up (then it hides).
    if (going) bar.value = Math.floor(100 * detail.loaded / detail.total);
  }
  document.addEventListener("htmx:xhr:progress", function (event) {
    if (event.detail.elt === form()) progress(event.detail);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt === form()) progress(null);
  });

  window.answerFiles = {
    add: add,
    clear: function () {
      input().value = "";
      show();
    }
  };
})();
