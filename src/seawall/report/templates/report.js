// The report's only script: a filter over the findings and expand/collapse. It reads text
// with textContent and writes no markup, so no string of the evidence can become code.
(function () {
  "use strict";
  var box = document.getElementById("filter");
  var hide = document.getElementById("hide-dismissed");
  var count = document.getElementById("filter-count");
  var items = Array.prototype.slice.call(document.querySelectorAll("details.finding"));
  var texts = null;
  var timer = null;
  function apply() {
    var query = box.value.trim().toLowerCase();
    if (texts === null) {
      texts = items.map(function (item) { return item.textContent.toLowerCase(); });
    }
    var shown = 0;
    items.forEach(function (item, i) {
      var visible = (!query || texts[i].indexOf(query) !== -1) &&
        !(hide.checked && item.classList.contains("dismissed"));
      item.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + items.length + " findings shown";
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 150);
  });
  hide.addEventListener("change", apply);
  function setOpen(open) {
    items.forEach(function (item) { if (!item.hidden) { item.open = open; } });
  }
  document.getElementById("expand-all").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setOpen(false); });
  function openLinked() {
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openLinked);
  openLinked();
  count.textContent = items.length + " findings";
}());
