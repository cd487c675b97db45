// Sharing behaviours: the preview window's tabs, field toggles and the password generator of
// the sharing form, the bulk share dialog with its live N/M counter, and the recipient's
// lightbox. Everything also works without this file, only less smoothly.
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
  function openShared(url) {
    var box = document.getElementById("share-box");
    if (!box) { window.location.href = url; return; }
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        document.getElementById("share-box-body").innerHTML = html;
        box.hidden = false;
      })
      .catch(function () { window.location.href = url; });
  }
  function closeShared() {
    var box = document.getElementById("share-box");
    if (!box) return;
    box.hidden = true;
    var video = box.querySelector("video");
    if (video) video.pause();
    document.getElementById("share-box-body").innerHTML = "";
  }

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
    if (open && !e.metaKey && !e.ctrlKey && !e.shiftKey) { e.preventDefault(); openShared(open.getAttribute("data-share-open")); return; }
    if (t.closest("[data-share-close]")) closeShared();
    if (t.closest('input[name="ids"][form="bulk-form"]') || t.closest("[data-select-all]") || t.closest("[data-select-none]")) {
      setTimeout(refreshCount, 0);
    }
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-toggle], input[type=radio]")) applyToggles(e.target.form);
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeShared(); });
  document.addEventListener("htmx:afterSwap", function (e) { applyToggles(e.target); refreshCount(); });
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector(".viewer-side [data-tab]")) showTab(location.hash === "#asset-share" ? "asset-share" : "asset-info");
    applyToggles(document);
    refreshCount();
  });
})();
