// Small glue for the chat page; htmx does the rest. No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  function composer() { return document.getElementById("composer"); }
  function question() { return document.getElementById("question"); }

  // Enter sends, Shift+Enter makes a new line (IME composition is left alone).
  document.addEventListener("keydown", function (event) {
    var field = question();
    if (event.target !== field || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (field.value.trim() !== "") composer().requestSubmit();
  });

  // The composer grows with its text, up to the CSS max-height.
  document.addEventListener("input", function (event) {
    if (event.target !== question()) return;
    event.target.style.height = "auto";
    event.target.style.height = event.target.scrollHeight + "px";
  });

  // After a question is accepted, clear the composer; a refused one keeps its text.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== composer()) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 200 && status < 300) {
      var field = question();
      field.value = "";
      field.style.height = "";
      document.getElementById("composer-error").textContent = "";
      document.getElementById("flash").textContent = "";
      field.focus();
      follow(true);
    }
  });

  // Follow a streaming answer, unless the reader scrolled up to read something else.
  var pinned = true;
  window.addEventListener("scroll", function () {
    pinned = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }, { passive: true });

  function follow(force) {
    if (force || pinned) window.scrollTo(0, document.body.scrollHeight);
  }

  document.addEventListener("htmx:sseMessage", function () { follow(false); });
  document.addEventListener("htmx:afterSettle", function () { follow(false); });
})();
