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
  var lastChecked = null;
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]')); }
  function refreshBar() {
    var bar = document.getElementById("bulk-form");
    if (!bar) return;
    var n = boxes().filter(function (b) { return b.checked; }).length;
    bar.hidden = n === 0;
    var count = bar.querySelector("[data-bulk-count]");
    if (count) count.textContent = n;
    boxes().forEach(function (b) { var t = b.closest(".tile"); if (t) t.classList.toggle("tile-selected", b.checked); });
  }
  document.addEventListener("click", function (e) {
    var box = e.target.closest && e.target.closest('input[name="ids"][form="bulk-form"]');
    if (box) {
      if (e.shiftKey && lastChecked && lastChecked !== box) {
        var all = boxes(), a = all.indexOf(lastChecked), b = all.indexOf(box);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
      }
      lastChecked = box;
      refreshBar();
      return;
    }
    if (e.target.closest && e.target.closest("[data-select-all]")) { boxes().forEach(function (x) { x.checked = true; }); refreshBar(); }
    if (e.target.closest && e.target.closest("[data-select-none]")) { boxes().forEach(function (x) { x.checked = false; }); refreshBar(); }
    var full = e.target.closest && e.target.closest("[data-fullscreen]");
    if (full) openLightbox(full.getAttribute("data-fullscreen"));
    if (e.target.closest && e.target.closest(".lightbox-close")) closeLightbox();
  });
  document.addEventListener("htmx:afterSwap", refreshBar);

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
    refreshBar();
  });
})();
