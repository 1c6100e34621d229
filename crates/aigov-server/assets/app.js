// aigov web UI: the one script of our own (no inline scripts anywhere; CSP script-src 'self').
// - htmx requests carry the session's CSRF token (from <meta name="csrf-token">) via hx-headers.
// - The risk register's bulk bar appears only when rows are selected.
(function () {
  "use strict";
  function init() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      document.body.setAttribute("hx-headers", JSON.stringify({ "x-csrf-token": meta.content }));
    }
    wireBulk(document);
  }
  function selected() {
    return document.querySelectorAll('input[type="checkbox"][name="ids"]:checked');
  }
  function updateBulk() {
    var bar = document.getElementById("bulk");
    if (!bar) return;
    var n = selected().length;
    bar.hidden = n === 0;
    var count = bar.querySelector(".sel-count");
    if (count) count.textContent = n > 0 ? (count.dataset.template || "{n}").replace("{n}", String(n)) : "";
  }
  function wireBulk(root) {
    var all = root.querySelector ? root.querySelector("#select-all") : null;
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll('input[type="checkbox"][name="ids"]').forEach(function (c) {
          c.checked = all.checked;
        });
        updateBulk();
      });
    }
    updateBulk();
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "ids") updateBulk();
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    wireBulk(e.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
