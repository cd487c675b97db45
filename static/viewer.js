// The viewer (issue 13 item 16): one fullscreen lightbox for the feed, the asset page and a
// link's recipient, moved through with ←/→, its ‹ › buttons and horizontal swipes, closed with
// Esc, and a zoom on its image (a click or a double-tap, + and -, the wheel, a pinch; drag to
// pan; 0 fits again). Zooming in loads the largest version the reader may get.
//
// What it shows is an element marked `data-viewer-item`:
//   data-versions  "url WxH, url WxH, ..." the image versions the reader may get, smallest
//                  first (sizes may be left out: then the first is shown, the last is zoomed)
//   data-video     a video to play instead of the image (its poster is the first version)
//   data-title     the caption; data-href an address to open the asset at
// The lightbox moves between the items of the same `.grid` in document order, so tiles that
// infinite scroll adds later are part of it, and at the last item it asks the grid's "more"
// marker for the next page before it stops.
(function () {
  "use strict";

  var SWIPE = 60; // px a touch must travel sideways to count as a swipe
  var MAX_SCALE = 8;
  var STEP = 1.6; // one press of + or -

  function isField(el) {
    if (!el || !el.closest) return false;
    return !!el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
  }

  // ---- reading an item -----------------------------------------------------------------
  function versionsOf(el) {
    return (el.getAttribute("data-versions") || "").split(",").map(function (part) {
      var bits = part.trim().split(/\s+/);
      var size = (bits[1] || "").split("x");
      return { url: bits[0], w: parseInt(size[0], 10) || 0, h: parseInt(size[1], 10) || 0 };
    }).filter(function (v) { return v.url; });
  }

  // The smallest version that fills the screen without upscaling, else the largest.
  function shownVersion(versions, stage) {
    if (!versions.length) return null;
    var known = versions.every(function (v) { return v.w && v.h; });
    if (!known) return versions[0];
    var ratio = window.devicePixelRatio || 1;
    var W = stage.clientWidth || window.innerWidth, H = stage.clientHeight || window.innerHeight;
    for (var i = 0; i < versions.length; i++) {
      var v = versions[i];
      var shownW = Math.min(W, H * v.w / v.h);
      if (v.w >= shownW * ratio) return v;
    }
    return versions[versions.length - 1];
  }

  // ---- the lightbox's markup (built once, into #lightbox or a new one) ----------------
  var box = null, parts = {};
  function build() {
    box = document.getElementById("lightbox");
    if (!box) {
      box = document.createElement("div");
      box.id = "lightbox";
      document.body.appendChild(box);
    }
    box.className = "lightbox";
    box.hidden = true;
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", "Viewer");
    box.setAttribute("data-test", "lightbox");
    box.setAttribute("tabindex", "-1");
    box.innerHTML =
      '<div class="lb-stage" data-test="lightbox-stage">' +
        '<img class="lb-img" alt="" draggable="false" data-test="lightbox-image">' +
        '<video class="lb-video" controls playsinline preload="metadata" hidden data-test="lightbox-video"></video>' +
      "</div>" +
      '<div class="lb-bar">' +
        '<span class="lb-title" data-test="lightbox-title"></span>' +
        '<span class="lb-count" data-test="lightbox-counter"></span>' +
        '<span class="lb-tools">' +
          '<button type="button" class="lb-btn" data-lb="out" aria-label="Zoom out" title="Zoom out (-)" data-test="lightbox-zoom-out">−</button>' +
          '<button type="button" class="lb-btn" data-lb="in" aria-label="Zoom in" title="Zoom in (+)" data-test="lightbox-zoom-in">+</button>' +
          '<button type="button" class="lb-btn" data-lb="fit" aria-label="Fit to the screen" title="Fit (0)" data-test="lightbox-zoom-reset">Fit</button>' +
          '<a class="lb-btn lb-open" hidden data-test="lightbox-open">Open</a>' +
          '<button type="button" class="lb-btn lightbox-close" data-lb="close" aria-label="Close" title="Close (Esc)" data-test="lightbox-close">×</button>' +
        "</span>" +
      "</div>" +
      '<button type="button" class="lb-nav lb-prev" data-lb="prev" aria-label="Previous" title="Previous (←)" data-test="lightbox-prev">‹</button>' +
      '<button type="button" class="lb-nav lb-next" data-lb="next" aria-label="Next" title="Next (→)" data-test="lightbox-next">›</button>' +
      '<p class="lb-status" role="status" aria-live="polite" data-test="lightbox-status"></p>';
    parts = {
      stage: box.querySelector(".lb-stage"),
      img: box.querySelector(".lb-img"),
      video: box.querySelector(".lb-video"),
      title: box.querySelector(".lb-title"),
      count: box.querySelector(".lb-count"),
      open: box.querySelector(".lb-open"),
      prev: box.querySelector(".lb-prev"),
      next: box.querySelector(".lb-next"),
      status: box.querySelector(".lb-status"),
      tools: box.querySelectorAll('[data-lb="in"], [data-lb="out"], [data-lb="fit"]'),
    };
    parts.img.addEventListener("error", function () {
      if (parts.img.getAttribute("src")) parts.status.textContent = "This version cannot be shown.";
    });
    parts.img.addEventListener("load", function () { parts.status.textContent = ""; clamp(); apply(); });
    box.addEventListener("click", onClick);
    box.addEventListener("dblclick", function (e) { e.preventDefault(); }); // no text selection
    parts.stage.addEventListener("wheel", onWheel, { passive: false });
    parts.stage.addEventListener("pointerdown", onDown);
    parts.stage.addEventListener("pointermove", onMove);
    parts.stage.addEventListener("pointerup", onUp);
    parts.stage.addEventListener("pointercancel", onCancel);
    return box;
  }

  // ---- state ---------------------------------------------------------------------------
  var current = null; // the item element shown
  var group = null; // the .grid it belongs to (null: a single item)
  var loadingMore = false;
  var z = { s: 1, x: 0, y: 0, zoomUrl: "", upgraded: false };
  var onClosed = null;

  function items() {
    if (!group || !document.contains(group)) return current ? [current] : [];
    return Array.prototype.slice.call(group.querySelectorAll("[data-viewer-item]"));
  }
  function moreMarker() {
    return group && document.contains(group) ? group.querySelector(".feed-more[hx-get]") : null;
  }

  function isOpen() { return !!box && !box.hidden; }

  var opener = null; // what had the focus: it gets it back on closing
  function open(el, options) {
    if (!box) build();
    if (!isOpen()) opener = document.activeElement;
    options = options || {};
    var uuid = el.getAttribute("data-uuid");
    if (!el.closest(".grid") && uuid) {
      // The recipient's panel shows one asset of the grid: the lightbox moves through the grid.
      var twin = document.querySelector('.grid [data-viewer-item][data-uuid="' + uuid + '"]');
      if (twin) el = twin;
    }
    group = el.closest(".grid");
    onClosed = options.onClose || null;
    box.hidden = false;
    document.documentElement.classList.add("lb-open");
    show(el);
    box.focus({ preventScroll: true });
  }

  function close() {
    if (!isOpen()) return;
    box.hidden = true;
    document.documentElement.classList.remove("lb-open");
    parts.video.pause();
    parts.video.removeAttribute("src");
    parts.video.load();
    var was = current;
    // Back in the grid at the tile last shown, so closing does not lose the place.
    var tile = was && was.closest(".tile");
    if (tile && tile.scrollIntoView) tile.scrollIntoView({ block: "nearest" });
    var back = was && document.contains(was) && typeof was.focus === "function" ? was : opener;
    if (back && document.contains(back)) back.focus({ preventScroll: true });
    opener = null;
    if (onClosed) onClosed(was);
    onClosed = null;
    document.dispatchEvent(new CustomEvent("pictorium:viewer-closed", { detail: { item: was } }));
  }

  function show(el) {
    current = el;
    resetZoom();
    var versions = versionsOf(el);
    var video = el.getAttribute("data-video");
    var shown = shownVersion(versions, parts.stage);
    parts.status.textContent = "";
    z.zoomUrl = versions.length ? versions[versions.length - 1].url : "";
    z.upgraded = !shown || z.zoomUrl === shown.url;
    if (video) {
      parts.img.hidden = true;
      parts.img.removeAttribute("src");
      parts.video.hidden = false;
      if (shown) parts.video.setAttribute("poster", shown.url); else parts.video.removeAttribute("poster");
      parts.video.src = video;
    } else {
      parts.video.pause();
      parts.video.hidden = true;
      parts.video.removeAttribute("src");
      parts.img.hidden = false;
      parts.img.src = shown ? shown.url : "";
      parts.img.alt = el.getAttribute("data-title") || "";
    }
    box.classList.toggle("lb-is-video", !!video);
    parts.tools.forEach(function (b) { b.disabled = !!video; });
    parts.title.textContent = el.getAttribute("data-title") || "";
    var href = el.getAttribute("data-href");
    parts.open.hidden = !href;
    if (href) parts.open.setAttribute("href", href);
    refreshNav();
  }

  function refreshNav() {
    var list = items(), i = list.indexOf(current);
    var more = moreMarker();
    parts.prev.disabled = i <= 0;
    parts.next.disabled = i < 0 || (i >= list.length - 1 && !more);
    var single = list.length <= 1 && !more;
    parts.prev.hidden = parts.next.hidden = single;
    parts.count.textContent = single || i < 0 ? "" : (i + 1) + " / " + list.length + (more ? "+" : "");
  }

  function move(step) {
    var list = items(), i = list.indexOf(current);
    if (i < 0) return;
    var target = list[i + step];
    if (target) { show(target); return; }
    if (step > 0) loadMore(function () {
      var again = items(), j = again.indexOf(current);
      if (again[j + 1]) show(again[j + 1]); else refreshNav();
    });
  }

  // The next page of the grid, through the grid's own "more" marker (htmx swaps the tiles in).
  function loadMore(then) {
    var more = moreMarker();
    if (!more || loadingMore || !window.htmx) return;
    loadingMore = true;
    parts.status.textContent = "Loading more…";
    var done = function () {
      loadingMore = false;
      document.removeEventListener("htmx:afterSettle", settled);
      document.removeEventListener("htmx:responseError", failed);
      document.removeEventListener("htmx:sendError", failed);
    };
    var settled = function () {
      if (moreMarker() === more) return; // another swap (a tile polling itself): not the page
      done(); parts.status.textContent = ""; then();
    };
    var failed = function () { done(); parts.status.textContent = "The next page could not be loaded."; refreshNav(); };
    document.addEventListener("htmx:afterSettle", settled);
    document.addEventListener("htmx:responseError", failed);
    document.addEventListener("htmx:sendError", failed);
    window.htmx.trigger(more, "revealed");
  }

  // ---- zoom ----------------------------------------------------------------------------
  // The image fills the stage (object-fit: contain), so a larger version swapped in keeps its
  // place; the transform is a shift and a scale about the stage's centre.
  function contentSize() {
    var W = parts.stage.clientWidth, H = parts.stage.clientHeight;
    var nw = parts.img.naturalWidth, nh = parts.img.naturalHeight;
    if (!nw || !nh) return { w: W, h: H, W: W, H: H };
    var k = Math.min(W / nw, H / nh);
    return { w: nw * k, h: nh * k, W: W, H: H };
  }
  function clamp() {
    var c = contentSize();
    var mx = Math.max(0, (c.w * z.s - c.W) / 2), my = Math.max(0, (c.h * z.s - c.H) / 2);
    z.x = Math.max(-mx, Math.min(mx, z.x));
    z.y = Math.max(-my, Math.min(my, z.y));
  }
  function apply() {
    if (!parts.img) return;
    parts.img.style.transform = "translate(" + z.x.toFixed(1) + "px, " + z.y.toFixed(1) + "px) scale(" + z.s.toFixed(3) + ")";
    box.classList.toggle("lb-zoomed", z.s > 1.001);
  }
  function resetZoom() { z.s = 1; z.x = 0; z.y = 0; apply(); }

  // Scale to s keeping the point (cx, cy) of the screen where it is.
  function zoomTo(s, cx, cy) {
    if (!isOpen() || !parts.video.hidden) return;
    s = Math.max(1, Math.min(MAX_SCALE, s));
    var r = parts.stage.getBoundingClientRect();
    var px = (cx === undefined ? r.left + r.width / 2 : cx) - (r.left + r.width / 2);
    var py = (cy === undefined ? r.top + r.height / 2 : cy) - (r.top + r.height / 2);
    var k = s / z.s;
    z.x = px - (px - z.x) * k;
    z.y = py - (py - z.y) * k;
    z.s = s;
    clamp();
    apply();
    if (s > 1.001) upgrade();
  }
  function toggleZoom(cx, cy) { if (z.s > 1.001) resetZoom(); else zoomTo(2.5, cx, cy); }

  // Zoomed in: the largest version the reader may get, swapped in once it has loaded.
  function upgrade() {
    if (z.upgraded || !z.zoomUrl) return;
    z.upgraded = true;
    var url = z.zoomUrl, shownFor = current;
    parts.status.textContent = "Loading the full size…";
    var big = new Image();
    big.onload = function () {
      if (current !== shownFor) return;
      parts.img.src = url;
      parts.status.textContent = "";
    };
    big.onerror = function () {
      if (current === shownFor) parts.status.textContent = "The full size cannot be loaded; zooming the version shown.";
    };
    big.src = url;
  }

  function onWheel(e) {
    if (!parts.video.hidden) return;
    e.preventDefault();
    zoomTo(z.s * Math.exp(-e.deltaY * 0.002), e.clientX, e.clientY);
  }

  // ---- pointers: drag to pan, pinch to zoom, swipe to move, double-tap to zoom ----------
  var pointers = {}, gesture = null, lastTap = null;
  function count() { return Object.keys(pointers).length; }
  function pair() {
    var ids = Object.keys(pointers), a = pointers[ids[0]], b = pointers[ids[1]];
    return { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }
  function onDown(e) {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    pointers[e.pointerId] = { x: e.clientX, y: e.clientY };
    if (count() === 2) {
      var p = pair();
      gesture = { kind: "pinch", d: p.d, s: z.s };
    } else if (count() === 1) {
      gesture = { kind: "one", x0: e.clientX, y0: e.clientY, tx: z.x, ty: z.y, moved: false, type: e.pointerType, onImg: e.target === parts.img };
    }
  }
  function onMove(e) {
    if (!pointers[e.pointerId] || !gesture) return;
    pointers[e.pointerId] = { x: e.clientX, y: e.clientY };
    if (gesture.kind === "pinch" && count() === 2) {
      var p = pair();
      zoomTo(gesture.s * p.d / gesture.d, p.x, p.y);
      return;
    }
    if (gesture.kind !== "one") return;
    var dx = e.clientX - gesture.x0, dy = e.clientY - gesture.y0;
    if (Math.abs(dx) > 4 || Math.abs(dy) > 4) gesture.moved = true;
    if (z.s > 1.001) {
      z.x = gesture.tx + dx; z.y = gesture.ty + dy; clamp(); apply();
    }
  }
  function onUp(e) {
    if (!pointers[e.pointerId]) return;
    delete pointers[e.pointerId];
    var g = gesture;
    if (count() > 0) {
      // One finger of a pinch lifted: the other one pans from here.
      var id = Object.keys(pointers)[0];
      gesture = { kind: "one", x0: pointers[id].x, y0: pointers[id].y, tx: z.x, ty: z.y, moved: true, pinched: true };
      return;
    }
    gesture = null;
    if (!g || g.kind !== "one" || g.pinched) return;
    var dx = e.clientX - g.x0, dy = e.clientY - g.y0;
    if (z.s <= 1.001 && g.type !== "mouse" && Math.abs(dx) >= SWIPE && Math.abs(dx) > 1.5 * Math.abs(dy)) {
      move(dx < 0 ? 1 : -1); // finger to the left: the next one
      return;
    }
    if (!g.moved && g.type === "mouse" && g.onImg) {
      toggleZoom(e.clientX, e.clientY); // a click zooms in there, and out again
      return;
    }
    if (!g.moved && g.onImg) {
      var now = Date.now();
      if (lastTap && now - lastTap.t < 350 && Math.hypot(e.clientX - lastTap.x, e.clientY - lastTap.y) < 30) {
        lastTap = null;
        toggleZoom(e.clientX, e.clientY);
      } else {
        lastTap = { t: now, x: e.clientX, y: e.clientY };
      }
    }
  }
  function onCancel(e) { delete pointers[e.pointerId]; if (!count()) gesture = null; }

  // ---- buttons and keys ----------------------------------------------------------------
  function onClick(e) {
    var b = e.target.closest && e.target.closest("[data-lb]");
    if (!b || b.disabled) return;
    var what = b.getAttribute("data-lb");
    if (what === "prev") move(-1);
    else if (what === "next") move(1);
    else if (what === "close") close();
    else if (what === "in") zoomTo(z.s * STEP);
    else if (what === "out") zoomTo(z.s / STEP);
    else if (what === "fit") resetZoom();
  }

  // Tab stays among the lightbox's own controls (it is modal).
  function trapFocus(back) {
    var controls = Array.prototype.slice.call(box.querySelectorAll("button, a[href], video[controls]"))
      .filter(function (c) { return !c.disabled && !c.hidden && c.offsetParent !== null; });
    if (!controls.length) return;
    var i = controls.indexOf(document.activeElement);
    var next = back ? (i <= 0 ? controls.length - 1 : i - 1) : (i + 1) % controls.length;
    controls[next].focus();
  }

  // Capture phase on window: while the lightbox is open its keys are its own (the asset
  // page's ←/→ and the recipient's panel do not see them).
  window.addEventListener("keydown", function (e) {
    if (!isOpen() || e.altKey || e.ctrlKey || e.metaKey) return;
    var handled = true;
    switch (e.key) {
      case "Escape": close(); break;
      case "ArrowLeft": move(-1); break;
      case "ArrowRight": move(1); break;
      case "+": case "=": zoomTo(z.s * STEP); break;
      case "-": case "_": zoomTo(z.s / STEP); break;
      case "0": resetZoom(); break;
      case "Tab": trapFocus(e.shiftKey); break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); e.stopPropagation(); }
  }, true);

  // The browser's own fullscreen left (its Esc, a phone's back gesture): the lightbox goes too.
  document.addEventListener("fullscreenchange", function () {
    if (!document.fullscreenElement && isOpen()) close();
  });
  window.addEventListener("resize", function () { if (isOpen()) { clamp(); apply(); } });

  // ---- swipe on a page: follow its rel=prev / rel=next links --------------------------
  // The asset page's preview: a sideways swipe follows the page's prev/next links (the
  // order of the feed it came from), when the page has them.
  // onSwipe(area, fn): fn(+1) for a touch swipe to the left (the next one), fn(-1) to the
  // right; a mouse never swipes, nor a second finger, nor a mostly vertical move.
  function onSwipe(area, fn) {
    var start = null;
    area.addEventListener("pointerdown", function (e) {
      if (e.pointerType === "mouse" || !e.isPrimary) { start = null; return; }
      start = { x: e.clientX, y: e.clientY };
    });
    area.addEventListener("pointercancel", function () { start = null; });
    area.addEventListener("pointerup", function (e) {
      if (!start || isOpen()) return;
      var dx = e.clientX - start.x, dy = e.clientY - start.y;
      start = null;
      if (Math.abs(dx) < SWIPE || Math.abs(dx) <= 1.5 * Math.abs(dy)) return;
      fn(dx < 0 ? 1 : -1);
    });
  }
  function swipeLinks(area) {
    onSwipe(area, function (step) {
      var link = document.querySelector(step > 0 ? 'a[rel~="next"]' : 'a[rel~="prev"]');
      if (link) link.click();
    });
  }

  // Esc on the asset page: back to the feed (the "← Feed" link keeps the search and the
  // place), unless the key belongs to a field, a dialog or the lightbox.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented || isOpen()) return;
    if (isField(e.target) || document.querySelector("dialog[open]")) return;
    var shareBox = document.getElementById("share-box");
    if (shareBox && !shareBox.hidden) return;
    var back = document.querySelector('[data-test="asset-viewer"] a[data-feed-back]');
    if (back) { e.preventDefault(); back.click(); }
  });

  function setup(root) {
    (root || document).querySelectorAll("[data-viewer-swipe]").forEach(function (area) {
      if (area.hasAttribute("data-viewer-swipe-on")) return;
      area.setAttribute("data-viewer-swipe-on", "");
      swipeLinks(area);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:load", function (e) { setup(e.target); });

  // Opening: a click on anything marked data-viewer-open opens the item it names (itself,
  // or the closest data-viewer-item), unless a modifier asks for the browser's own way.
  document.addEventListener("click", function (e) {
    var opener = e.target.closest && e.target.closest("[data-viewer-open]");
    if (!opener || e.metaKey || e.ctrlKey || e.shiftKey) return;
    var item = opener.hasAttribute("data-viewer-item") ? opener : opener.closest("[data-viewer-item]");
    if (!item) return;
    e.preventDefault();
    open(item);
  });

  window.pictoriumViewer = { open: open, close: close, isOpen: isOpen, onSwipe: onSwipe };
})();
