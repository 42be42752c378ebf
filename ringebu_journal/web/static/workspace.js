// Ringebu journal – keyboard flow for the work list (progressive enhancement: every action is a
// plain form without this script). Keys (documented on the page in #shortcuts):
// j/k next/previous message, c confirm, f journal, a archive, x exclude, r reason field,
// o open the message. f/a/x need a reason: with the field empty the focus moves there first and
// Enter then stores the chosen decision; Esc cancels.
(function () {
  "use strict";
  var KEYS = { c: "confirm", f: "journal", a: "archive", x: "exclude" };

  function items() { return Array.prototype.slice.call(document.querySelectorAll(".queue-item")); }
  function current() { return document.querySelector(".queue-item.current"); }

  function select(item) {
    if (!item) { return; }
    items().forEach(function (el) { el.classList.remove("current"); });
    item.classList.add("current");
    item.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = items();
    if (!list.length) { return; }
    var i = list.indexOf(current());
    var next = i < 0 ? 0 : Math.min(Math.max(i + step, 0), list.length - 1);
    select(list[next]);
  }

  function decide(item, decision) {
    var button = item.querySelector('button[data-decision="' + decision + '"]');
    if (!button || button.disabled) { return; }
    var reason = item.querySelector("input.reason");
    if (decision !== "confirm" && reason && !reason.value.trim()) {
      reason.dataset.pending = decision;
      reason.focus();
      return;
    }
    button.click();
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && t.classList && t.classList.contains("reason")) {
      var item = t.closest(".queue-item");
      if (ev.key === "Enter" && t.dataset.pending && item) {
        ev.preventDefault();
        var pending = t.dataset.pending;
        delete t.dataset.pending;
        decide(item, pending);
      } else if (ev.key === "Escape") {
        delete t.dataset.pending;
        if (item) { select(item); }
      }
      return;
    }
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable)) { return; }
    var cur = current();
    if (ev.key === "j") { move(1); ev.preventDefault(); return; }
    if (ev.key === "k") { move(-1); ev.preventDefault(); return; }
    if (!cur) { return; }
    if (KEYS[ev.key]) { decide(cur, KEYS[ev.key]); ev.preventDefault(); return; }
    if (ev.key === "r") { var r = cur.querySelector("input.reason"); if (r) { r.focus(); ev.preventDefault(); } return; }
    if (ev.key === "o") { var link = cur.querySelector("a.open"); if (link) { link.click(); ev.preventDefault(); } }
  });

  // after a stored decision the item is marked done and the next one is selected
  document.addEventListener("htmx:afterSwap", function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || !target.classList.contains("result")) { return; }
    var item = target.closest(".queue-item");
    if (!item) { return; }
    var stored = target.querySelector('[data-outcome="stored"]');
    if (stored) {
      item.dataset.done = "true";
      item.dataset.lockVersion = stored.dataset.lockVersion || item.dataset.lockVersion;
      var lock = item.querySelector('input[name="expect_version"]');
      if (lock && stored.dataset.lockVersion) { lock.value = stored.dataset.lockVersion; }
      if (item === current()) { move(1); }
    } else {
      var alert = target.querySelector('[role="alert"]');
      if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
    }
  });
})();
