// swcli console: filter tables as you type. No inline script anywhere: this
// file is loaded with script-src 'self'.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    var status = document.getElementById(input.getAttribute("data-filter") + "-count");
    if (!table) { return; }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    input.hidden = false;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase(), shown = 0;
      rows.forEach(function (row) {
        var key = row.getAttribute("data-key");
        var text = (key !== null ? key : row.textContent).toLowerCase();
        var hit = q === "" || text.indexOf(q) >= 0;
        row.hidden = !hit;
        if (hit) { shown++; }
      });
      if (status) { status.textContent = shown + " of " + rows.length + " shown"; }
    });
  });
});
