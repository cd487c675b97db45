// Feed behaviours: drag-and-drop upload with a progress bar per file, selection with
// shift-click and select-all for the bulk bar, confirmations, and the fullscreen lightbox.
(function () {
  "use strict";

  function csrf() {
    var field = document.querySelector('input[name="_csrf_token"]');
    return field ? field.value : "";
  }

  // ---- upload --------------------------------------------------------------------------
  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var list = form.querySelector(".upload-list");
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10) || 100;
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || Infinity;

    function addRow(file) {
      var li = document.createElement("li");
      li.className = "upload-item";
      li.setAttribute("data-test", "upload-item");
      li.innerHTML = '<span class="upload-name"></span><progress max="100" value="0"></progress><span class="upload-state">Waiting</span>';
      li.querySelector(".upload-name").textContent = file.name;
      list.appendChild(li);
      return li;
    }

    function uploadOne(file, tags, li) {
      return new Promise(function (resolve) {
        var data = new FormData();
        data.append("_csrf_token", csrf());
        data.append("tags", tags);
        data.append("file", file, file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.getAttribute("action"));
        xhr.setRequestHeader("X-CSRFToken", csrf());
        xhr.setRequestHeader("X-Upload", "1");
        var bar = li.querySelector("progress");
        var state = li.querySelector(".upload-state");
        xhr.upload.onprogress = function (e) {
          if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); state.textContent = bar.value + "%"; }
        };
        xhr.onload = function () {
          var box = document.createElement("div");
          box.innerHTML = xhr.responseText;
          var tile = box.querySelector(".tile");
          if (xhr.status === 201 && tile) {
            bar.value = 100; state.textContent = "Uploaded"; li.classList.add("upload-done");
            var grid = document.getElementById("asset-grid");
            if (grid) { grid.insertBefore(tile, grid.firstChild); if (window.htmx) window.htmx.process(tile); }
            var empty = document.querySelector('[data-test="feed-empty"]');
            if (empty) empty.remove();
          } else {
            var msg = box.querySelector(".upload-msg");
            var text = msg ? msg.textContent : (box.querySelector(".error-page p") || {}).textContent;
            state.textContent = text || ("Failed (" + xhr.status + ")");
            li.classList.add(msg && msg.getAttribute("data-test") === "upload-duplicate" ? "upload-skip" : "upload-failed");
          }
          resolve();
        };
        xhr.onerror = function () { state.textContent = "Network error: not uploaded"; li.classList.add("upload-failed"); resolve(); };
        xhr.send(data);
      });
    }

    function start(files) {
      files = Array.prototype.slice.call(files);
      if (!files.length) return;
      if (files.length > maxFiles) {
        window.pictoriumToast("You can upload at most " + maxFiles + " files at once.");
        return;
      }
      var tags = (form.querySelector('input[name="tags"]') || {}).value || "";
      var queue = [];
      files.forEach(function (file) {
        var li = addRow(file);
        if (file.size > maxBytes) {
          li.querySelector(".upload-state").textContent = "Too large: the limit is " + Math.round(maxBytes / 1048576) + " MB";
          li.classList.add("upload-failed");
        } else { queue.push([file, li]); }
      });
      // Two uploads at a time: steady progress without flooding the server.
      var next = 0;
      function worker() {
        if (next >= queue.length) return Promise.resolve();
        var item = queue[next++];
        return uploadOne(item[0], tags, item[1]).then(worker);
      }
      Promise.all([worker(), worker()]).then(function () { input.value = ""; });
    }

    form.addEventListener("submit", function (e) { e.preventDefault(); start(input.files); });
    input.addEventListener("change", function () { start(input.files); });
    ["dragenter", "dragover"].forEach(function (t) {
      document.addEventListener(t, function (e) {
        if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) {
          e.preventDefault(); form.classList.add("dropzone-active");
        }
      });
    });
    document.addEventListener("dragleave", function (e) { if (!e.relatedTarget) form.classList.remove("dropzone-active"); });
    document.addEventListener("drop", function (e) {
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      e.preventDefault(); form.classList.remove("dropzone-active"); start(e.dataTransfer.files);
    });
  }

  // ---- selection -----------------------------------------------------------------------
  // With every box of the page ticked, the bar offers "Select all N results" (N for the feed's
  // filter, asked from /assets/bulk/count): the form then sends all=1 and the filter, and the
  // server runs the filter again (capped) instead of taking the ticked ids.
  var lastChecked = null;
  var allMode = false, totals = null, totalsFor = null;
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]')); }
  function bulkFilter(bar) { var f = bar.querySelector("[data-bulk-filter]"); return f ? f.value : ""; }
  function setAll(bar, on) {
    allMode = on;
    var field = bar.querySelector("[data-bulk-all]");
    if (field) field.value = on ? "1" : "";
    var share = bar.querySelector("[data-share-bulk]");
    if (share) {
      share.disabled = on;
      share.title = on ? "Sharing takes the assets you select on the page." : "";
    }
  }
  function offerResults(bar, pageCount) {
    var button = bar.querySelector("[data-select-results]");
    if (!button) return;
    var filter = bulkFilter(bar);
    if (allMode || pageCount === 0 || boxes().some(function (b) { return !b.checked; })) { button.hidden = true; return; }
    function show() {
      if (!totals || totals.total <= pageCount) { button.hidden = true; return; }
      button.querySelector("[data-results-count]").textContent = totals.total;
      button.hidden = false;
    }
    if (totals && totalsFor === filter) { show(); return; }
    totalsFor = filter;
    fetch("/assets/bulk/count?filter=" + encodeURIComponent(filter), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (got) { totals = got; show(); })
      .catch(function () { totals = null; });
  }
  function refreshBar() {
    var bar = document.getElementById("bulk-form");
    if (!bar) return;
    if (totalsFor !== null && totalsFor !== bulkFilter(bar)) { totals = null; totalsFor = null; setAll(bar, false); }
    if (allMode) boxes().forEach(function (b) { b.checked = true; });
    var n = boxes().filter(function (b) { return b.checked; }).length;
    bar.hidden = n === 0;
    var count = bar.querySelector("[data-bulk-count]");
    if (count) count.textContent = allMode && totals ? "All " + totals.total : n;
    var note = bar.querySelector("[data-bulk-cap-note]");
    if (note) {
      var over = allMode && totals && totals.total > totals.cap;
      note.hidden = !over;
      if (over) note.textContent = "Bulk actions take at most " + totals.cap + " assets at once: narrow the filter.";
    }
    boxes().forEach(function (b) { var t = b.closest(".tile"); if (t) t.classList.toggle("tile-selected", b.checked); });
    offerResults(bar, n);
  }
  function refreshVersions(menu) {
    var bar = document.getElementById("bulk-form");
    var select = menu.querySelector("[data-zip-versions]");
    if (!bar || !select) return;
    var data = new FormData(bar);
    fetch("/assets/bulk/versions", {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf() }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html !== null) select.innerHTML = html;
    }).catch(function () {});
  }
  document.addEventListener("toggle", function (e) {
    var menu = e.target;
    if (menu.matches && menu.matches("[data-zip-menu]") && menu.open) refreshVersions(menu);
  }, true);
  // A ZIP over its cap is refused here, next to the button, before anything is sent.
  document.addEventListener("submit", function (e) {
    var bar = e.target;
    if (bar.id !== "bulk-form" || !e.submitter || e.submitter.value !== "download") return;
    var menu = e.submitter.closest("[data-zip-menu]");
    var n = allMode && totals ? totals.total : boxes().filter(function (b) { return b.checked; }).length;
    var cap = parseInt(menu.getAttribute("data-zip-cap"), 10) || Infinity;
    var error = menu.querySelector("[data-zip-error]");
    if (n > cap) {
      e.preventDefault();
      error.textContent = "A ZIP holds at most " + cap + " assets; " + n + " are selected. Narrow the selection or the filter.";
      error.hidden = false;
    } else if (error) { error.hidden = true; }
  }, true);
  document.addEventListener("click", function (e) {
    var box = e.target.closest && e.target.closest('input[name="ids"][form="bulk-form"]');
    var bar = document.getElementById("bulk-form");
    if (box) {
      if (allMode && !box.checked && bar) setAll(bar, false);
      if (e.shiftKey && lastChecked && lastChecked !== box) {
        var all = boxes(), a = all.indexOf(lastChecked), b = all.indexOf(box);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
      }
      lastChecked = box;
      refreshBar();
      return;
    }
    if (e.target.closest && e.target.closest("[data-select-all]")) { boxes().forEach(function (x) { x.checked = true; }); refreshBar(); }
    if (e.target.closest && e.target.closest("[data-select-results]") && bar) { setAll(bar, true); refreshBar(); }
    if (e.target.closest && e.target.closest("[data-select-none]")) {
      if (bar) setAll(bar, false);
      boxes().forEach(function (x) { x.checked = false; }); refreshBar();
    }
    var full = e.target.closest && e.target.closest("[data-fullscreen]");
    if (full) openLightbox(full.getAttribute("data-fullscreen"));
    if (e.target.closest && e.target.closest(".lightbox-close")) closeLightbox();
  });
  document.addEventListener("htmx:afterSwap", refreshBar);

  // ---- undo of a delete ----------------------------------------------------------------
  // The notice of a move into the recycle bin carries an Undo form (templates/asset/_undo.html).
  // It becomes a toast (role=status) that stays ten seconds, longer while the pointer or the
  // focus is on it; Undo restores those assets and the feed's results are fetched again.
  var UNDO_MS = 10000;
  function setupUndo() {
    var form = document.querySelector("[data-undo-form]");
    if (!form) return;
    var notice = form.closest(".notice");
    var text = notice ? (notice.querySelector("[data-notice-text]") || notice).textContent : "";
    var toast = document.createElement("div");
    toast.className = "toast show undo-toast";
    toast.setAttribute("role", "status");
    toast.setAttribute("data-test", "undo-toast");
    var label = document.createElement("span");
    label.textContent = text;
    toast.appendChild(label);
    toast.appendChild(form);
    document.body.appendChild(toast);
    if (notice) notice.remove();
    var timer = null, busy = false;
    function hide() { if (!busy) toast.remove(); }
    function arm() { clearTimeout(timer); timer = setTimeout(hide, UNDO_MS); }
    function hold() { clearTimeout(timer); }
    toast.addEventListener("mouseenter", hold);
    toast.addEventListener("focusin", hold);
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusout", arm);
    arm();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;
      busy = true; hold();
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      fetch(form.getAttribute("action"), {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), "X-Undo": "1" }
      }).then(function (r) {
        return r.text().then(function (message) { return { ok: r.ok, message: message }; });
      }).then(function (got) {
        toast.remove();
        if (!got.ok) { window.pictoriumError(got.message || "The assets could not be restored."); return; }
        window.pictoriumToast(got.message);
        var results = document.getElementById("asset-results");
        if (results && window.htmx) {
          window.htmx.ajax("GET", window.location.href, { target: "#asset-results", select: "#asset-results", swap: "outerHTML" });
        } else {
          window.location.reload();
        }
      }).catch(function () {
        busy = false; arm();
        if (button) button.disabled = false;
        window.pictoriumError("Network error: nothing was restored.");
      });
    });
  }

  // Forms and buttons with data-confirm ask first (works for plain and htmx forms).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var submitter = e.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  }, true);

  // ---- lightbox ------------------------------------------------------------------------
  function openLightbox(src) {
    var box = document.getElementById("lightbox");
    if (!box) return;
    box.querySelector("img").src = src;
    box.hidden = false;
    if (box.requestFullscreen) box.requestFullscreen().catch(function () {});
  }
  function closeLightbox() {
    var box = document.getElementById("lightbox");
    if (!box) return;
    box.hidden = true;
    if (document.fullscreenElement) document.exitFullscreen();
  }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeLightbox(); });
  document.addEventListener("fullscreenchange", function () {
    var box = document.getElementById("lightbox");
    if (box && !document.fullscreenElement && !box.hidden) box.hidden = true;
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (form) setupUpload(form);
    setupUndo();
    refreshBar();
  });
})();
