// The card page (L-CAB-8): fetch a fresh QR code and barcode when the 30-second code turns.
(function () {
  "use strict";
  var box = document.querySelector("[data-card-code-url]");
  if (!box) return;
  var url = box.getAttribute("data-card-code-url");
  var counter = box.querySelector("[data-refresh-in]") || document.querySelector("[data-refresh-in]");
  var left = parseInt(counter ? counter.textContent : "30", 10) || 30;

  function apply(data) {
    box.querySelector("[data-qr]").src = data.qr;
    box.querySelector("[data-barcode]").src = data.barcode;
    box.querySelector("[data-barcode-digits]").textContent = data.barcode_digits;
    left = data.refresh_in;
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) apply(data); else left = 30; })
      .catch(function () { left = 5; });
  }

  // A phone's screen that wakes up shows a fresh code at once, not the one it slept with.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });

  setInterval(function () {
    left -= 1;
    if (left <= 0) { left = 30; refresh(); }
    if (counter) counter.textContent = String(left);
  }, 1000);
})();
