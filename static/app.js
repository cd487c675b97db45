// Small behaviours htmx does not cover: copy-to-clipboard with a notice.
(function () {
  "use strict";
  function toast(message) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.classList.add("show");
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.classList.remove("show"); }, 1800);
  }
  window.pictoriumToast = toast;

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP deployments have no Clipboard API: fall back to a hidden textarea.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent.trim();
    copyText(text).then(function () { toast(button.getAttribute("data-copied") || "Copied"); });
  });
})();

// Behaviours that were inline attributes (the pages' Content-Security-Policy runs no inline
// script): a collection cover that fails to load goes away; choosing a collection points the
// "Add" form at it.
(function () {
  "use strict";
  function dropBroken(img) {
    if (img.matches && img.matches("img[data-remove-on-error]")) img.remove();
  }
  document.addEventListener("error", function (event) { dropBroken(event.target); }, true);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("img[data-remove-on-error]").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) img.remove();
    });
  });
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-collection-choose]");
    if (select && select.form) select.form.action = "/collections/" + encodeURIComponent(select.value) + "/add";
  });
})();
