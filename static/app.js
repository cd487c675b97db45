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

// ---- Issue 13 (layout) ---------------------------------------------------------------------
// Times in the viewer's zone: the server writes every instant as <time datetime="ISO"
// data-time>2026-07-14 16:05 UTC</time>; this rewrites it with the same format in the
// browser's zone, labelled with the zone's short name in the browser's language
// ("2026-07-14 12:05 EDT"). Date fields holding an instant (a token's expiry) show that
// instant's day in the viewer's zone, and forms that read a date get the zone's name (tz) so
// the server takes "through that day" in the same zone (core/clock.parse_expiry).
(function () {
  "use strict";
  var zoneName = "";
  try { zoneName = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zoneName = ""; }
  // A signed-in user's own zone (My account; base.html's <body data-user-zone>) wins over
  // the browser's, when this browser knows it.
  var zone = {};
  var own = document.body && document.body.getAttribute("data-user-zone");
  if (own) {
    try { new Intl.DateTimeFormat("en-US", { timeZone: own }); zone = { timeZone: own }; zoneName = own; }
    catch (e) { zone = {}; }
  }
  function withZone(options) {
    if (zone.timeZone) options.timeZone = zone.timeZone;
    return options;
  }
  var digits = new Intl.DateTimeFormat("en-US", withZone({
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  }));
  var label;
  try { label = new Intl.DateTimeFormat(navigator.language || "en-US", withZone({ timeZoneName: "short" })); }
  catch (e) { label = new Intl.DateTimeFormat("en-US", withZone({ timeZoneName: "short" })); }

  function parts(formatter, date) {
    var out = {};
    formatter.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function day(date) {
    var p = parts(digits, date);
    return p.year + "-" + p.month + "-" + p.day;
  }
  function instant(date) {
    var p = parts(digits, date);
    var hour = p.hour === "24" ? "00" : p.hour;
    return day(date) + " " + hour + ":" + p.minute + " " + parts(label, date).timeZoneName;
  }
  function apply(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("time[data-time][datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      el.setAttribute("data-shown-in", zoneName);  // seen (the browser tests wait for it)
      if (isNaN(date.getTime())) return;
      if (!el.title) el.title = el.textContent;  // the server's UTC rendering, on hover
      el.textContent = instant(date);
    });
    root.querySelectorAll("input[type=date][data-local-date]").forEach(function (el) {
      var date = new Date(el.getAttribute("data-local-date"));
      if (el.getAttribute("data-local-date") && !isNaN(date.getTime())) el.value = day(date);
      el.setAttribute("data-shown-in", zoneName);
    });
    root.querySelectorAll("input[data-viewer-zone]").forEach(function (el) { el.value = zoneName; });
  }
  window.pictoriumTime = { instant: instant, day: day, zone: zoneName };
  document.addEventListener("DOMContentLoaded", function () { apply(document); });
  document.addEventListener("htmx:load", function (event) { apply(event.target); });
})();

// "← Feed" returns to the same results at the same place: opening an asset from the feed
// remembers the feed's address (search and filters included) and how far it was scrolled;
// back there, the feed loads its further pages until that place exists and scrolls to it.
(function () {
  "use strict";
  var KEY = "pictorium:feed";
  var RESTORE = "pictorium:feed-restore";
  function read() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  function here() { return location.pathname + location.search; }

  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    var open = event.target.closest('a[data-test="asset-open"]');
    if (open && location.pathname === "/" && document.getElementById("asset-grid")) {
      try { sessionStorage.setItem(KEY, JSON.stringify({ url: here(), y: window.scrollY })); } catch (e) { /* private mode */ }
    }
    var back = event.target.closest("a[data-feed-back]");
    if (back && read()) {
      try { sessionStorage.setItem(RESTORE, "1"); } catch (e) { /* private mode */ }
    }
  }, true);

  function restore(saved) {
    if ("scrollRestoration" in history) history.scrollRestoration = "manual";
    var tries = 0;
    function attempt() {
      var room = document.documentElement.scrollHeight - window.innerHeight;
      var more = document.querySelector('[data-test="feed-more"]');
      if (room >= saved.y || !more || tries > 30) { window.scrollTo(0, Math.min(saved.y, room)); return; }
      tries += 1;
      // Showing the "load more" marker makes htmx fetch the next page (hx-trigger=revealed).
      document.body.addEventListener("htmx:afterSettle", function again() {
        document.body.removeEventListener("htmx:afterSettle", again);
        attempt();
      });
      more.scrollIntoView();
    }
    attempt();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var saved = read();
    var back = document.querySelector("a[data-feed-back]");
    if (back && saved && saved.url) back.setAttribute("href", saved.url);
    if (location.pathname !== "/" || !document.getElementById("asset-grid")) return;
    var wanted = sessionStorage.getItem(RESTORE);
    sessionStorage.removeItem(RESTORE);
    if (wanted && saved && saved.url === here()) restore(saved);
  });
})();
// ---- end of issue 13 (layout) --------------------------------------------------------------

// Answers to htmx requests (docs/architecture.md "Form errors"). htmx 2 swaps only 2xx/3xx by
// default; our routes answer a form's mistakes with the form again, its error next to the field,
// under 400/409/413/422/429: those are swapped like a success. Any other failure (an error page
// the route did not mean as a fragment, a 5xx, the network) swaps nothing and shows a notice.
// The flash notice of the last action goes away as soon as the next one starts.
(function () {
  "use strict";
  var FORM_ERRORS = "(400|409|413|422|429)";
  function configure() {
    if (!window.htmx) return;
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: FORM_ERRORS, swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false }
    ];
  }
  configure();
  document.addEventListener("DOMContentLoaded", configure);

  function notify(message) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.classList.add("show", "toast-error");
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.classList.remove("show", "toast-error"); }, 8000);
  }
  window.pictoriumError = notify;

  function clearNotices() {
    document.querySelectorAll('.notice[data-test="notice"]').forEach(function (el) { el.remove(); });
    var toast = document.getElementById("toast");
    if (toast && toast.classList.contains("toast-error")) toast.classList.remove("show", "toast-error");
  }

  // The server names a failure it did not answer with a fragment in this event (HX-Trigger).
  document.addEventListener("pictorium:error", function (event) {
    var detail = event.detail || {};
    notify(detail.value || detail.message || "Something went wrong.");
  });
  document.addEventListener("htmx:beforeRequest", clearNotices);
  // A whole page answered to an htmx request under an error status is not a fragment: it is not
  // put in a form's place; its message is shown instead.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status < 400 || !/^\s*<!doctype/i.test(xhr.responseText || "")) return;
    event.detail.shouldSwap = false;
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var said = doc.querySelector('main [role="alert"], main .alert-error, main h1');
    notify(said ? said.textContent.trim() : "That did not work (" + xhr.status + ").");
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && /pictorium:error/.test(xhr.getResponseHeader("HX-Trigger") || "")) return;
    notify("Something went wrong on our side (" + (xhr ? xhr.status : "error") + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    notify("The server could not be reached. Check the connection and try again.");
  });

  // Filters that apply as soon as they change (a select, a date): the form submits itself, and
  // htmx takes the submit. (An hx-trigger "from:" selector with [type=date] is not htmx syntax.)
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form && field.form.requestSubmit) field.form.requestSubmit();
  });
})();

// The phone menu (a checkbox in base.html, kept in the tab order) closes with Escape, and
// the focus goes back to its toggle.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var toggle = document.getElementById("nav-toggle");
    if (!toggle || !toggle.checked) return;
    toggle.checked = false;
    toggle.focus();
  });
})();
