// Admin > Appearance: the preview panel wears the colours and logo as they are picked, before
// anything is saved. Colours go in as CSS custom properties (the CSP allows no inline style
// in markup; the CSSOM is ours), the logo as a data: URL (img-src allows 'self' and data:).
(function () {
  "use strict";
  var NAMES = { accent: "--accent", accent_ink: "--accent-ink", text: "--text", bg: "--bg", surface: "--surface" };

  function mix(hex, other, share) {
    var a = parseInt(hex.slice(1), 16), b = parseInt(other.slice(1), 16), out = "#";
    [16, 8, 0].forEach(function (shift) {
      var x = (a >> shift) & 255, y = (b >> shift) & 255;
      out += ("0" + Math.round(x * share + y * (1 - share)).toString(16)).slice(-2);
    });
    return out;
  }

  function setup(form) {
    var panel = document.getElementById(form.getAttribute("data-preview-form"));
    var page = panel && panel.querySelector(".preview-page");
    if (!page) return;
    function paint() {
      var values = {};
      form.querySelectorAll("[data-preview-color]").forEach(function (input) {
        values[input.getAttribute("data-preview-color")] = input.value;
        page.style.setProperty(NAMES[input.getAttribute("data-preview-color")], input.value);
      });
      if (values.accent && values.surface) {
        page.style.setProperty("--accent-soft", mix(values.accent, values.surface, 0.1));
        page.style.setProperty("--line", mix(values.text || "#1d2330", values.surface, 0.12));
      }
    }
    form.addEventListener("input", function (event) {
      var target = event.target;
      if (target.hasAttribute("data-preview-color")) paint();
      if (target.hasAttribute("data-preview-name")) {
        var name = panel.querySelector(".preview-header .brand");
        if (name && !name.querySelector("img")) {
          name.lastChild.textContent = target.value || "Pictorium";
        }
      }
    });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (!target.hasAttribute("data-preview-logo") || !target.files || !target.files[0]) return;
      var reader = new FileReader();
      reader.onload = function () {
        var brand = panel.querySelector(".preview-header .brand");
        var img = brand.querySelector("img") || document.createElement("img");
        img.className = "brand-logo";
        img.alt = "Logo";
        img.src = String(reader.result);
        img.setAttribute("data-test", "preview-logo");
        brand.textContent = "";
        brand.appendChild(img);
      };
      reader.readAsDataURL(target.files[0]);
    });
  }

  document.querySelectorAll("form[data-preview-form]").forEach(setup);
})();
