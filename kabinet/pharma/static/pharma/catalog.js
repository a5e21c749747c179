// Catalog page helpers (CSP: no inline scripts). Works without JavaScript too.
(function () {
  "use strict";
  // Choosing another delivery address reloads the page for it.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Search as you type: suggestions from the JSON search, shown by the browser's datalist.
  var input = document.querySelector("input[data-suggest-url]");
  if (!input) { return; }
  var list = document.getElementById(input.getAttribute("list"));
  var timer = null;
  var last = "";
  input.addEventListener("input", function () {
    var q = input.value.trim();
    if (q.length < 3 || q === last) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () {
      last = q;
      fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (r) { return r.ok ? r.json() : []; }).then(function (items) {
        var results = Array.isArray(items) ? items : (items.results || []);
        list.replaceChildren();
        var seen = {};
        results.slice(0, 10).forEach(function (item) {
          if (seen[item.trade_name]) { return; }
          seen[item.trade_name] = true;
          var option = document.createElement("option");
          option.value = item.trade_name;
          list.appendChild(option);
        });
      }).catch(function () { /* suggestions are a convenience */ });
    }, 200);
  });
})();
