// Sharing behaviours: the preview window's tabs, field toggles and the password generator of
// the sharing form, the bulk share dialog with its live N/M counter, and the recipient's
// lightbox (moved through with ←/→, its buttons and swipes). Everything also works without
// this file, only less smoothly.
(function () {
  "use strict";

  function toast(message) { if (window.pictoriumToast) window.pictoriumToast(message); }

  // ---- tabs of the preview window -------------------------------------------------------
  function showTab(name) {
    var side = document.querySelector(".viewer-side");
    if (!side) return;
    side.querySelectorAll('[role="tab"]').forEach(function (tab) {
      var target = tab.getAttribute("data-tab") || (tab.getAttribute("href") || "").replace("#", "");
      tab.setAttribute("aria-selected", target === name ? "true" : "false");
    });
    side.querySelectorAll(".side-body").forEach(function (panel) { panel.hidden = panel.id !== name; });
  }

  // ---- form toggles and the password generator ------------------------------------------
  function applyToggles(root) {
    (root || document).querySelectorAll("[data-toggle]").forEach(function (input) {
      var name = input.getAttribute("data-toggle");
      var form = input.form || document;
      form.querySelectorAll('[data-toggled="' + name + '"]').forEach(function (el) {
        var on = input.type === "radio"
          ? !!form.querySelector('[data-toggle="' + name + '"]:checked')
          : input.checked;
        el.hidden = !on;
      });
    });
  }

  function generatePassword() {
    var alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!";
    var values = new Uint32Array(16);
    window.crypto.getRandomValues(values);
    var out = "";
    for (var i = 0; i < values.length; i++) out += alphabet[values[i] % alphabet.length];
    return /\d/.test(out) ? out : out.slice(0, 15) + "7";
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var area = document.createElement("textarea");
    area.value = text; area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  // ---- bulk share ----------------------------------------------------------------------
  function selectedIds() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]:checked'))
      .map(function (box) { return box.value; });
  }
  function idsQuery(ids) { return ids.map(function (id) { return "ids=" + encodeURIComponent(id); }).join("&"); }

  var countTimer = null, countSeq = 0;
  function refreshCount() {
    var label = document.querySelector("[data-share-count]");
    if (!label) return;
    var ids = selectedIds();
    if (!ids.length) { label.textContent = ""; return; }
    clearTimeout(countTimer);
    countTimer = setTimeout(function () {
      var seq = ++countSeq;
      fetch("/links/bulk/count?" + idsQuery(ids), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || seq !== countSeq) return;
          label.textContent = data.shareable === data.selected ? "" : " " + data.shareable + "/" + data.selected;
          label.closest("[data-share-bulk]").setAttribute("data-shareable", data.shareable);
        });
    }, 150);
  }

  function dialog() {
    var box = document.getElementById("share-dialog");
    if (box) return box;
    box = document.createElement("dialog");
    box.id = "share-dialog";
    box.className = "share-dialog";
    box.setAttribute("data-test", "share-dialog");
    box.innerHTML = '<div class="share-dialog-body"><button type="button" class="btn btn-ghost btn-sm share-dialog-close" data-share-dialog-close aria-label="Close">×</button><div class="share-dialog-content"></div></div>';
    document.body.appendChild(box);
    return box;
  }

  function openBulk() {
    var ids = selectedIds();
    if (!ids.length) return;
    fetch("/links/bulk?" + idsQuery(ids), { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var box = dialog();
        var content = box.querySelector(".share-dialog-content");
        content.innerHTML = html;
        if (window.htmx) window.htmx.process(content);
        applyToggles(content);
        if (!box.open) box.showModal();
      });
  }

  // ---- recipient lightbox ----------------------------------------------------------------
  // The panel over the grid shows one asset (its image or video, details and downloads); ←/→,
  // its ‹ › buttons and a sideways swipe move through the grid's tiles in order, those "More"
  // added included (at the last one it loads the next page first); Esc closes it. The fullscreen
  // lightbox over it (static/viewer.js) takes the keys while it is open.
  var sharedUuid = null, sharedSeq = 0, sharedLoading = false;
  function sharedTiles() {
    return Array.prototype.slice.call(document.querySelectorAll(".share-grid [data-share-open]"));
  }
  function uuidOf(el) { var t = el && el.closest("[data-uuid]"); return t ? t.getAttribute("data-uuid") : null; }
  function sharedMore() { var grid = document.querySelector(".share-grid"); return grid ? grid.querySelector(".feed-more[hx-get]") : null; }
  function sharedOpen() { var box = document.getElementById("share-box"); return !!box && !box.hidden; }

  function refreshSharedNav() {
    var box = document.getElementById("share-box");
    if (!box) return;
    var tiles = sharedTiles(), i = tiles.map(uuidOf).indexOf(sharedUuid);
    var prev = box.querySelector("[data-share-move='-1']"), next = box.querySelector("[data-share-move='1']");
    var single = tiles.length <= 1 && !sharedMore();
    [prev, next].forEach(function (b) { if (b) b.hidden = single; });
    if (prev) prev.disabled = i <= 0;
    if (next) next.disabled = i < 0 || (i >= tiles.length - 1 && !sharedMore());
  }

  function openShared(url, uuid) {
    var box = document.getElementById("share-box");
    if (!box) { window.location.href = url; return; }
    var seq = ++sharedSeq;
    sharedUuid = uuid || null;
    refreshSharedNav();
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        if (seq !== sharedSeq) return; // a later move won
        var body = document.getElementById("share-box-body");
        var old = body.querySelector("video");
        if (old) old.pause();
        body.innerHTML = html;
        box.hidden = false;
        refreshSharedNav();
      })
      .catch(function () { if (seq === sharedSeq) window.location.href = url; });
  }
  function closeShared() {
    var box = document.getElementById("share-box");
    if (!box || box.hidden) return;
    box.hidden = true;
    var video = box.querySelector("video");
    if (video) video.pause();
    document.getElementById("share-box-body").innerHTML = "";
    // Back at the tile last shown.
    var tile = sharedTiles().filter(function (t) { return uuidOf(t) === sharedUuid; })[0];
    if (tile) { tile.scrollIntoView({ block: "nearest" }); tile.focus({ preventScroll: true }); }
    sharedUuid = null;
  }
  function moveShared(step) {
    var tiles = sharedTiles(), i = tiles.map(uuidOf).indexOf(sharedUuid);
    if (i < 0) return;
    var target = tiles[i + step];
    if (target) { openShared(target.getAttribute("data-share-open"), uuidOf(target)); return; }
    var more = sharedMore();
    if (step < 0 || !more || sharedLoading || !window.htmx) return;
    sharedLoading = true;
    var after = function (e) {
      if (e.type === "htmx:afterSettle" && sharedMore() === more) return; // not the page
      sharedLoading = false;
      document.removeEventListener("htmx:afterSettle", after);
      document.removeEventListener("htmx:responseError", after);
      document.removeEventListener("htmx:sendError", after);
      var again = sharedTiles(), j = again.map(uuidOf).indexOf(sharedUuid);
      if (again[j + 1]) openShared(again[j + 1].getAttribute("data-share-open"), uuidOf(again[j + 1]));
      else refreshSharedNav();
    };
    document.addEventListener("htmx:afterSettle", after);
    document.addEventListener("htmx:responseError", after);
    document.addEventListener("htmx:sendError", after);
    window.htmx.trigger(more, "revealed");
  }
  // The fullscreen lightbox moved on through the grid: the panel under it follows.
  document.addEventListener("pictorium:viewer-closed", function (e) {
    var item = e.detail && e.detail.item;
    if (!sharedOpen() || !item || !item.hasAttribute("data-share-open")) return;
    if (uuidOf(item) !== sharedUuid) openShared(item.getAttribute("data-share-open"), uuidOf(item));
  });
  document.addEventListener("keydown", function (e) {
    if (!sharedOpen() || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target.closest && e.target.closest("input, textarea, select")) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") { e.preventDefault(); moveShared(e.key === "ArrowLeft" ? -1 : 1); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var body = document.getElementById("share-box-body");
    if (body && window.pictoriumViewer) window.pictoriumViewer.onSwipe(body, moveShared);
  });

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t.closest) return;
    var tab = t.closest('.viewer-side [role="tab"]');
    if (tab) { e.preventDefault(); showTab(tab.getAttribute("data-tab") || tab.getAttribute("href").replace("#", "")); return; }
    var gen = t.closest("[data-generate-password]");
    if (gen) {
      var field = document.querySelector(gen.getAttribute("data-generate-password"));
      var form = gen.closest("form");
      var pw = generatePassword();
      if (field) { field.value = pw; field.dispatchEvent(new Event("input", { bubbles: true })); }
      var on = form && form.querySelector('[data-toggle="share-password"]');
      if (on && !on.checked) { on.checked = true; applyToggles(form); }
      copy(pw).then(function () { toast("Password generated and copied"); }, function () { toast("Password generated"); });
      return;
    }
    var bulk = t.closest("[data-share-bulk]");
    if (bulk) { e.preventDefault(); openBulk(); return; }
    if (t.closest("[data-share-dialog-close]")) { var d = document.getElementById("share-dialog"); if (d) d.close(); return; }
    var cancel = t.closest("[data-share-cancel]");
    if (cancel) {
      var inDialog = cancel.closest("dialog");
      if (inDialog) { e.preventDefault(); inDialog.close(); return; }
      var work = cancel.closest(".share-area .share-work");
      if (work) { e.preventDefault(); work.innerHTML = ""; return; }
      if (cancel.tagName === "BUTTON") history.back();
      return;
    }
    var open = t.closest("[data-share-open]");
    if (open && !e.metaKey && !e.ctrlKey && !e.shiftKey) { e.preventDefault(); openShared(open.getAttribute("data-share-open"), uuidOf(open)); return; }
    if (t.closest("[data-share-close]")) closeShared();
    var step = t.closest("[data-share-move]");
    if (step && !step.disabled) { moveShared(parseInt(step.getAttribute("data-share-move"), 10)); return; }
    if (t.closest('input[name="ids"][form="bulk-form"]') || t.closest("[data-select-all]") || t.closest("[data-select-none]")) {
      setTimeout(refreshCount, 0);
    }
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-toggle], input[type=radio]")) applyToggles(e.target.form);
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !e.defaultPrevented) closeShared(); });
  document.addEventListener("htmx:afterSwap", function (e) { applyToggles(e.target); refreshCount(); });
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector(".viewer-side [data-tab]")) showTab(location.hash === "#asset-share" ? "asset-share" : "asset-info");
    applyToggles(document);
    refreshCount();
  });
})();
