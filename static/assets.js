// Feed behaviours: drag-and-drop upload with a progress bar per file, selection with
// shift-click and select-all for the bulk bar, confirmations, and the fullscreen lightbox.
(function () {
  "use strict";

  function csrf() {
    var field = document.querySelector('input[name="_csrf_token"]');
    return field ? field.value : "";
  }

  // ---- upload --------------------------------------------------------------------------
  // One XHR a file (a progress bar each), at most UPLOAD_AT_ONCE at a time and in the order
  // chosen; one summary line above the list counts them ("12 of 32 uploaded") with a bar for
  // the bytes of the whole batch. A waiting or running file can be cancelled (its row's x, or
  // Cancel for all), a failed one sent again (Retry). When every file is finished the
  // successes fold away after FOLD_AFTER ms, leaving the summary; failed rows stay.
  var UPLOAD_AT_ONCE = 3;
  var FOLD_AFTER = 3000;

  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var list = form.querySelector(".upload-list");
    var summary = form.querySelector(".upload-summary");
    var countLine = summary.querySelector(".upload-count");
    var totalBar = summary.querySelector(".upload-total");
    var cancelAll = summary.querySelector(".upload-cancel");
    var details = summary.querySelector(".upload-details");
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10) || 100;
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || Infinity;
    var items = [];  // this batch, in order: {file, tags, li, state, xhr, loaded, sent}
    var foldTimer = null;
    var FINISHED = { done: 1, duplicate: 1, failed: 1, cancelled: 1 };

    function count(state) { return items.filter(function (it) { return it.state === state; }).length; }
    function active() { return items.some(function (it) { return !FINISHED[it.state]; }); }

    function refresh() {
      var done = count("done"), failed = count("failed"), here = count("duplicate"), cancelled = count("cancelled");
      var running = active();
      var text = running ? done + " of " + items.length + " uploaded" : done + " uploaded";
      if (failed) text += ", " + failed + " failed";
      if (here) text += ", " + here + " already here";
      if (cancelled) text += ", " + cancelled + " cancelled";
      if (countLine.textContent !== text) countLine.textContent = text;  // announced once
      var total = 0, loaded = 0;
      items.forEach(function (it) {
        if (it.state === "cancelled") return;
        total += it.file.size;
        loaded += FINISHED[it.state] ? it.file.size : it.loaded;
      });
      totalBar.value = total ? Math.round((loaded / total) * 100) : 100;
      summary.hidden = items.length === 0;
      summary.setAttribute("data-state", running ? "running" : failed ? "failed" : "done");
      cancelAll.hidden = !running;
      clearTimeout(foldTimer);
      if (!running && items.length) foldTimer = setTimeout(fold, FOLD_AFTER);
    }

    // The finished rows other than the failed ones go; "Show details" brings them back.
    function fold() {
      var left = 0;
      items.forEach(function (it) {
        var keep = it.state === "failed";
        it.li.hidden = !keep;
        if (keep) left++;
      });
      list.classList.add("upload-folded");
      details.hidden = left === items.length;
      details.setAttribute("aria-expanded", "false");
      details.textContent = "Show details";
    }

    function unfold() {
      clearTimeout(foldTimer);
      list.classList.remove("upload-folded");
      items.forEach(function (it) { it.li.hidden = false; });
      details.hidden = true;
    }

    details.addEventListener("click", function () {
      var open = details.getAttribute("aria-expanded") === "true";
      items.forEach(function (it) { it.li.hidden = open && it.state !== "failed"; });
      details.setAttribute("aria-expanded", open ? "false" : "true");
      details.textContent = open ? "Show details" : "Hide details";
    });

    function setState(it, state, message) {
      it.state = state;
      it.li.setAttribute("data-state", state);
      it.li.className = "upload-item upload-" + state;
      if (state === "done") it.li.classList.add("upload-done");
      if (state === "duplicate") it.li.classList.add("upload-skip");
      var label = it.li.querySelector(".upload-state");
      if (message instanceof Node) { label.textContent = ""; label.appendChild(message); }
      else label.textContent = message;
      it.li.querySelector(".upload-x").hidden = FINISHED[state] === 1;
      it.li.querySelector(".upload-retry").hidden = state !== "failed";
      if (state === "done" || state === "duplicate") it.li.querySelector("progress").value = 100;
      refresh();
    }

    function addRow(it) {
      var li = document.createElement("li");
      li.className = "upload-item";
      li.setAttribute("data-test", "upload-item");
      li.innerHTML = '<span class="upload-name" data-test="upload-name"></span><progress max="100" value="0"></progress>' +
        '<span class="upload-state" data-test="upload-state"></span>' +
        '<span class="upload-actions"><button type="button" class="btn btn-sm upload-retry" data-test="upload-retry" hidden>Retry</button>' +
        '<button type="button" class="upload-x" data-test="upload-item-cancel">×</button></span>';
      li.querySelector(".upload-name").textContent = it.file.name;
      li.querySelector(".upload-name").title = it.file.name;
      li.querySelector(".upload-x").setAttribute("aria-label", "Cancel " + it.file.name);
      li.querySelector(".upload-retry").setAttribute("aria-label", "Retry " + it.file.name);
      li.querySelector(".upload-x").addEventListener("click", function () { cancel(it); });
      li.querySelector(".upload-retry").addEventListener("click", function () { retry(it); });
      list.appendChild(li);
      it.li = li;
    }

    // What the server said about a refused file, as text for its row.
    function reason(xhr, box) {
      var msg = box.querySelector(".upload-reason") || box.querySelector(".upload-msg");
      if (msg && msg.textContent.trim()) return msg.textContent.trim();
      var page = box.querySelector(".error-page p");
      if (page && page.textContent.trim()) return page.textContent.trim();
      if (xhr.status >= 500) return "The server could not take it (" + xhr.status + "). Try again.";
      var plain = (xhr.responseText || "").trim();
      if (plain && plain.length < 300 && plain.indexOf("<") < 0) return plain;
      return "Not uploaded (" + xhr.status + ").";
    }

    function send(it) {
      var data = new FormData();
      data.append("_csrf_token", csrf());
      data.append("tags", it.tags);
      data.append("file", it.file, it.file.name);
      var xhr = new XMLHttpRequest();
      it.xhr = xhr;
      it.loaded = 0;
      it.sent = false;
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.setRequestHeader("X-Upload", "1");
      var bar = it.li.querySelector("progress");
      bar.value = 0;
      setState(it, "running", "0%");
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable || it.state !== "running") return;
        bar.value = Math.round((e.loaded / e.total) * 100);
        it.loaded = Math.min(it.file.size, e.loaded);
        it.li.querySelector(".upload-state").textContent = bar.value + "%";
        refresh();
      };
      // Once the whole body is sent the server may already be storing the file: it can no
      // longer be called back, so it is not offered for cancelling.
      xhr.upload.onload = function () {
        if (it.state !== "running") return;
        it.sent = true;
        it.loaded = it.file.size;
        bar.value = 100;
        it.li.querySelector(".upload-state").textContent = "Storing…";
        it.li.querySelector(".upload-x").hidden = true;
        refresh();
      };
      function finish(state, message) { it.xhr = null; setState(it, state, message); pump(); }
      xhr.onload = function () {
        if (it.state !== "running") return;
        var box = document.createElement("div");
        box.innerHTML = xhr.responseText;
        var tile = box.querySelector(".tile");
        var twin = box.querySelector('[data-test="upload-duplicate"]');
        if (xhr.status === 201 && tile) {
          var grid = document.getElementById("asset-grid");
          if (grid) { grid.insertBefore(tile, grid.firstChild); if (window.htmx) window.htmx.process(tile); }
          var empty = document.querySelector('[data-test="feed-empty"]');
          if (empty) empty.remove();
          finish("done", "Uploaded");
        } else if (xhr.status < 300 && twin) {
          var note = document.createElement("span");
          note.appendChild(document.createTextNode("Already here as "));
          var link = twin.querySelector("a");
          if (link) note.appendChild(link); else note.textContent = twin.textContent;
          finish("duplicate", note);
        } else {
          finish("failed", reason(xhr, box));
        }
      };
      xhr.onerror = function () { if (it.state === "running") finish("failed", "Network error: not uploaded. Check the connection and retry."); };
      xhr.onabort = function () { if (it.state === "running") finish("cancelled", "Cancelled"); };
      xhr.send(data);
    }

    function pump() {
      var running = items.filter(function (it) { return it.state === "running"; }).length;
      for (var i = 0; i < items.length && running < UPLOAD_AT_ONCE; i++) {
        if (items[i].state === "waiting") { send(items[i]); running++; }
      }
      refresh();
    }

    function cancel(it) {
      if (it.state === "waiting") setState(it, "cancelled", "Cancelled");
      else if (it.state === "running" && !it.sent) {
        setState(it, "cancelled", "Cancelled");  // before abort: onabort then leaves it be
        var xhr = it.xhr; it.xhr = null;
        if (xhr) xhr.abort();
        pump();
      }
    }

    function retry(it) {
      if (it.state !== "failed") return;
      unfold();
      setState(it, "waiting", "Waiting");
      pump();
    }

    cancelAll.addEventListener("click", function () {
      // The waiting first, so that aborting a running one starts none of them; a file sent
      // whole is left to finish (the server may be storing it).
      items.forEach(function (it) { if (it.state === "waiting") setState(it, "cancelled", "Cancelled"); });
      items.forEach(function (it) { if (it.state === "running") cancel(it); });
    });

    function start(files) {
      files = Array.prototype.slice.call(files);
      if (!files.length) return;
      if (files.length > maxFiles) {
        window.pictoriumToast("You can upload at most " + maxFiles + " files at once.");
        return;
      }
      var tags = (form.querySelector('input[name="tags"]') || {}).value || "";
      if (!active()) {
        // A new batch: what the last one left (but its failures, still to retry) goes.
        items = items.filter(function (it) {
          if (it.state === "failed") return true;
          it.li.remove();
          return false;
        });
      }
      unfold();
      files.forEach(function (file) {
        var it = { file: file, tags: tags, li: null, state: "waiting", xhr: null, loaded: 0, sent: false };
        items.push(it);
        addRow(it);
        if (file.size > maxBytes) {
          setState(it, "failed", "Too large: the limit is " + Math.round(maxBytes / 1048576) + " MB a file.");
        } else {
          setState(it, "waiting", "Waiting");
        }
      });
      input.value = "";  // the same files may be chosen again; the rows keep theirs
      pump();
    }

    // Leaving the page would drop the files not yet sent: the browser asks first.
    window.addEventListener("beforeunload", function (e) {
      if (items.some(function (it) { return it.state === "waiting" || (it.state === "running" && !it.sent); })) {
        e.preventDefault();
        e.returnValue = "";
      }
    });

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
  // The fullscreen lightbox is static/viewer.js: a tile's ⤢ button (and the asset page's
  // "Fullscreen") opens it at that asset, and it moves through the grid. These two keep the
  // older `data-fullscreen="url"` opener working: one image, no neighbours.
  function openLightbox(src) {
    if (!window.pictoriumViewer || !src) return;
    var item = document.createElement("span");
    item.setAttribute("data-versions", src);
    window.pictoriumViewer.open(item);
  }
  function closeLightbox() { if (window.pictoriumViewer) window.pictoriumViewer.close(); }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (form) setupUpload(form);
    setupUndo();
    refreshBar();
  });
})();

// The asset page's Previous / Next (issue 13 item 16): the ← and → keys follow the page's
// rel="prev" / rel="next" links, unless typing in a field or a key was taken already.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var rel = e.key === "ArrowLeft" ? "prev" : e.key === "ArrowRight" ? "next" : null;
    var t = e.target;
    if (!rel || (t && t.closest && t.closest("input, textarea, select, [contenteditable]"))) return;
    var link = document.querySelector('.viewer a[rel="' + rel + '"]');
    if (link) { e.preventDefault(); location.href = link.href; }
  });
})();
