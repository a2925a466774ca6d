/* Explorers of the built book (course_lib/widgets.py, issue 19).
 *
 * explore() draws its figure at build time over a grid of the controls'
 * values and writes, in the page, one <img> per frame (only the starting one
 * shown) and a native control per parameter: a range slider over the values
 * that have frames, a <select>, or a check box. This script shows the
 * controls and, when one changes, the frame that matches all of them.
 * Nothing is fetched: the frames are in the page (data: URIs), so it works
 * offline and from a page opened from disk.
 */
(function () {
  "use strict";

  function setUp(explorer) {
    var controls = explorer.querySelectorAll("[data-control]");
    var frames = explorer.querySelectorAll("img[data-frame]");
    var byKey = {};
    frames.forEach(function (img) { byKey[img.getAttribute("data-frame")] = img; });

    function indexOf(control) {
      if (control.type === "checkbox")
        return control.getAttribute(control.checked ? "data-on" : "data-off");
      return control.value;
    }

    function update() {
      var key = [];
      controls.forEach(function (control) {
        key.push(indexOf(control));
        if (control.type === "range") {
          var labels = JSON.parse(control.getAttribute("data-labels"));
          var label = labels[Number(control.value)];
          control.setAttribute("aria-valuetext", label);
          var output = control.closest(".course-explorer-control").querySelector("output");
          if (output) output.textContent = label;
        }
      });
      var shown = byKey[key.join(",")];
      if (!shown) return;
      frames.forEach(function (img) { img.hidden = img !== shown; });
    }

    controls.forEach(function (control) {
      control.addEventListener("input", update);
      control.addEventListener("change", update);
    });
    // A reload may keep the controls' last positions: show their frame.
    update();
    explorer.querySelectorAll(".course-explorer-controls").forEach(function (box) {
      box.hidden = false;
    });
    explorer.setAttribute("data-ready", "");
  }

  function setUpAll() {
    document.querySelectorAll(".course-explorer:not([data-ready])").forEach(setUp);
  }

  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", setUpAll);
  else
    setUpAll();
})();
