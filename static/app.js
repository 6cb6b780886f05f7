// Small glue for the chat page; htmx does the rest. No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  function composer() { return document.getElementById("composer"); }
  function question() { return document.getElementById("question"); }

  // Enter sends, Shift+Enter makes a new line (IME composition is left alone);
  // Escape stops the answer being written, or closes an open menu.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") return escape(event);
    var field = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (!(field instanceof HTMLTextAreaElement) || !field.form) return;
    if (field !== question() && !field.closest(".edit")) return;
    event.preventDefault();
    // One answer at a time: while one is written, Enter keeps the text for later.
    if (field === question() && liveStop()) return;
    if (field.value.trim() !== "") field.form.requestSubmit();
  });

  function liveStop() { return document.querySelector(".answer.live form.stop"); }

  function escape(event) {
    var stop = liveStop();
    if (stop) {
      event.preventDefault();
      stop.requestSubmit();
      return;
    }
    if (isOpen("menu")) return toggle("menu", false);
    var open = document.querySelector("details[open]:not(.folder-box)");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
      return;
    }
    if (isOpen("sidebar")) toggle("sidebar", false);
  }

  // Narrow, the chats are a drawer behind "Chats"; on a phone the top bar's links a list
  // behind "Menu". Each opens on its first link and closes back to its button (or, by a
  // click elsewhere, where that click went).
  var PANELS = { sidebar: "#sidebar a", menu: "#menu-links a, #menu-links button" };
  function isOpen(name) { return document.body.classList.contains(name + "-open"); }
  function toggle(name, open, quietly) {
    var button = document.querySelector("." + name + "-toggle");
    document.body.classList.toggle(name + "-open", open);
    button.setAttribute("aria-expanded", String(open));
    var next = open ? document.querySelector(PANELS[name]) : button;
    if (next && !quietly) next.focus();
  }

  // What works only with this script is shown by it: the keyboard hints, the composer's Stop,
  // Menu and the drawer's button. Again when htmx puts a page back from the history.
  function start() {
    document.body.classList.remove("menu-open", "sidebar-open");
    // A link shown once (an invitation) can be copied with a button where a script runs.
    var shown = "#composer-help, .composer-stop, .menu-toggle, button.copy-link";
    if (document.getElementById("sidebar")) shown += ", .sidebar-toggle";
    document.querySelectorAll(shown).forEach(function (elt) { elt.hidden = false; });
    if (question()) count(question());
    // With a script, files go up by files.js (with progress); without one, as the form's multipart body.
    if (attachInput()) {
      composer().classList.add("enhanced");
      composer().removeAttribute("enctype");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    start();
    // A conversation opens at its latest answer, unless the address names another place.
    if (!window.location.hash && document.querySelector("#messages .exchange")) follow(true);
  });
  document.addEventListener("htmx:historyRestore", start);

  // Another tab or device may have gone on with this chat: when this tab comes back (into
  // view, or its window into focus), one light request asks; nothing changes if nothing did.
  var away = false;
  function recheck() {
    var sync = document.getElementById("latest");
    var chat = document.getElementById("conversation-id");
    if (!away || !sync || !chat || !chat.value || !window.htmx) return;
    away = false;
    window.htmx.trigger(sync, "recheck");
  }
  window.addEventListener("blur", function () { away = true; });
  window.addEventListener("focus", recheck);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") away = true;
    else recheck();
  });

  // The composer grows with its text, up to the CSS max-height: by CSS (field-sizing) where
  // the browser can, else here (a style htmx's history snapshot would then carry along).
  var SIZED_BY_CSS = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");
  document.addEventListener("input", function (event) {
    count(event.target);
    if (SIZED_BY_CSS || event.target !== question()) return;
    event.target.style.height = "auto";
    event.target.style.height = event.target.scrollHeight + "px";
  });

  // Nothing is cut: as a question nears its limit a counter shows, and past it, by how much
  // (in the words of the field's data-over, written in app/messages.py).
  var NEAR = 0.8;
  function count(field) {
    var limit = field.dataset ? Number(field.dataset.limit) : 0;
    var counter = limit && document.getElementById(field.dataset.counter);
    if (!counter) return;
    var text = field.value.trim();
    // Characters as the server counts them: a pair of surrogates is one.
    var length = text.length - (text.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g) || []).length;
    var over = length - limit;
    counter.classList.toggle("over", over > 0);
    if (length < limit * NEAR) counter.textContent = "";
    else if (over <= 0) counter.textContent = number(length) + " / " + number(limit) + " characters";
    else counter.textContent = number(length) + " / " + number(limit) + " characters: " + number(over) + " " +
      field.dataset.over;
  }

  function number(value) { return value.toLocaleString("en-US"); }

  // After a question is accepted, clear the composer; a refused one keeps its text.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== composer()) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 200 && status < 300) {
      var field = question();
      field.value = "";
      if (!SIZED_BY_CSS) field.style.height = "";
      count(field);
      document.getElementById("composer-error").textContent = "";
      document.getElementById("flash").textContent = "";
      if (window.answerFiles) window.answerFiles.clear();
      field.focus();
      follow(true);
    }
  });

  // Files chosen, dropped or pasted: files.js (chips, progress) loads when first needed.
  function attachInput() { return document.getElementById("attach"); }
  function withFiles(added) {
    if (window.answerFiles) return window.answerFiles.add(added);
    var script = document.createElement("script");
    script.src = document.getElementById("composer-files").dataset.script;
    script.onload = function () { window.answerFiles.add(added); };
    document.head.appendChild(script);
  }
  document.addEventListener("change", function (event) {
    if (event.target === attachInput()) withFiles([]);
  });
  document.addEventListener("dragover", function (event) {
    if (attachInput() && event.dataTransfer.types.indexOf("Files") !== -1) event.preventDefault();
  });
  document.addEventListener("drop", function (event) {
    if (!attachInput() || !event.dataTransfer.files.length) return;
    event.preventDefault();
    withFiles(event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    var pasted = event.clipboardData && event.clipboardData.files;
    if (!attachInput() || !pasted || !pasted.length) return;
    if (!event.clipboardData.getData("text/plain")) event.preventDefault();
    withFiles(pasted);
  });

  // Times come written in UTC; shown in the browser's own time zone when it can be read.
  // A zone chosen in the settings is written by the server already, and left alone.
  var UTC_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/;
  var localFormat = null;
  try {
    localFormat = new Intl.DateTimeFormat("en-CA", {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
    });
  } catch (error) { localFormat = null; }

  function localTimes(root) {
    if (!localFormat || !root.querySelectorAll) return;
    root.querySelectorAll("time[datetime]").forEach(function (time) {
      if (!UTC_TIME.test(time.textContent.trim())) return;
      var moment = new Date(time.getAttribute("datetime"));
      if (isNaN(moment.getTime())) return;
      var part = {};
      localFormat.formatToParts(moment).forEach(function (piece) { part[piece.type] = piece.value; });
      time.title = time.textContent;
      time.textContent = part.year + "-" + part.month + "-" + part.day + " " + part.hour + ":" + part.minute + " " + part.timeZoneName;
    });
  }

  // Every code block in an answer gets a copy button.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (!elt.querySelectorAll) return;
    localTimes(elt);
    // A streaming answer's blocks arrive one by one, each a loaded element of its own.
    var blocks = Array.prototype.slice.call(elt.querySelectorAll(".markdown pre.code"));
    if (elt.matches(".markdown pre.code")) blocks.push(elt);
    blocks.forEach(function (block) {
      if (block.querySelector(".copy")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      block.appendChild(button);
    });
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    if (isOpen("menu") && !event.target.closest("#menu-links, .menu-toggle")) toggle("menu", false, true);
    var panel = event.target.closest(".menu-toggle, .sidebar-toggle");
    if (panel) {
      var name = panel.classList.contains("menu-toggle") ? "menu" : "sidebar";
      toggle(name, !isOpen(name));
      return;
    }
    if (event.target.closest("button.to-bottom")) {
      follow(true);
      return;
    }
    if (event.target.closest("button.composer-stop")) {
      var stop = liveStop();
      if (stop) stop.requestSubmit();
      return;
    }
    var whole = event.target.closest("a.copy-answer");
    if (whole) {
      // The answer's markdown, as stored; without JavaScript the link shows it.
      event.preventDefault();
      fetch(whole.href, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      }).then(function (text) {
        return navigator.clipboard.writeText(text);
      }).then(function () { say(whole, "Copied"); }, function () { say(whole, "Copy failed"); });
      return;
    }
    var copier = event.target.closest("button.copy-link");
    if (copier) {
      var source = document.getElementById(copier.dataset.copy);
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        say(copier, "Copied");
      }, function () {
        say(copier, "Copy failed");
      });
      return;
    }
    var button = event.target.closest("button.copy");
    if (!button) return;
    var code = button.parentElement.querySelector("code");
    navigator.clipboard.writeText(code.textContent).then(function () {
      say(button, "Copied");
    }, function () {
      say(button, "Copy failed");
    });
  });

  function say(button, text) {
    button.textContent = text;
    window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  // Follow a streaming answer, unless the reader scrolled up to read something else.
  var pinned = true;
  window.addEventListener("scroll", function () {
    pinned = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    // Scrolled up: a button brings the newest message (and its Stop) back.
    var down = document.querySelector(".to-bottom");
    if (down) down.hidden = pinned;
  }, { passive: true });

  function follow(force) {
    if (force || pinned) window.scrollTo(0, document.body.scrollHeight);
  }

  // Controls that replace themselves hand the focus on, rather than drop it on the page:
  // Stop to the question box once the answer has ended, a chat's Rename, Keep and Pin to its menu button.
  var stopping = false;
  var focusNext = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.matches && elt.matches("form.stop")) stopping = true;
    var item = elt.matches && elt.matches("form.rename, form.keep, form.pin") ? elt.closest(".conversation") : null;
    if (item) focusNext = "#" + item.id + " .menu > summary";
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (stopping && !liveStop()) {
      stopping = false;
      if (question()) question().focus();
    }
    if (focusNext) {
      var target = document.querySelector(focusNext);
      focusNext = null;
      if (target) target.focus();
    }
  });

  // Edit opens with the focus in its box, at the end of the question.
  document.addEventListener("toggle", function (event) {
    var edit = event.target;
    if (!edit.matches || !edit.matches("details.edit") || !edit.open) return;
    var field = edit.querySelector("textarea");
    if (!field) return;
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }, true);

  // The chat on screen shares the branch on screen: its "Share or download…" names the last
  // exchange shown, kept in step as versions are switched, regenerated or asked.
  function shareOnScreen() {
    var chat = document.getElementById("conversation-id");
    var after = document.getElementById("ask-after");
    if (!chat || !after || !/^\d+$/.test(chat.value)) return;
    document.querySelectorAll('a.share-link[data-conversation="' + chat.value + '"]').forEach(function (link) {
      var url = new URL(link.href, window.location.href);
      if (/^\d+$/.test(after.value)) url.searchParams.set("leaf", after.value);
      else url.searchParams.delete("leaf");
      link.href = url.pathname + url.search;
    });
  }

  document.addEventListener("htmx:afterSettle", shareOnScreen);
  document.addEventListener("htmx:sseMessage", function () { follow(false); });
  document.addEventListener("htmx:afterSettle", function () { follow(false); });
})();
