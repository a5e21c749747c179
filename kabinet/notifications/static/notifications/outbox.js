// Development outbox: optional auto-refresh, remembered for this browser tab. A static file,
// not an inline script, so the page keeps the site's content security policy.
(function () {
  "use strict";
  var box = document.getElementById("outbox-autorefresh");
  if (!box) {
    return;
  }
  var key = "kabinet.outbox.autorefresh";
  var timer = null;

  function schedule() {
    window.clearTimeout(timer);
    if (!box.checked) {
      return;
    }
    timer = window.setTimeout(function () {
      // Never reload under someone typing a recipient into the filter.
      if (document.activeElement && document.activeElement.id === "outbox-to") {
        schedule();
        return;
      }
      window.location.reload();
    }, 5000);
  }

  box.checked = window.sessionStorage.getItem(key) === "1";
  box.addEventListener("change", function () {
    window.sessionStorage.setItem(key, box.checked ? "1" : "0");
    schedule();
  });
  schedule();
})();
