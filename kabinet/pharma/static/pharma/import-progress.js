// The import page's progress bar: polls the job's JSON twice a second until it finishes, then
// reloads once so the server renders the outcome (error, report link). A static file, not an
// inline script, so the page keeps the site's content security policy.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box || box.getAttribute("data-finished") === "1") {
    return;
  }
  var url = box.getAttribute("data-import-progress");
  var bar = document.getElementById("import-bar");

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + "%";
    ["percent", "total_rows", "processed_rows", "accepted_rows", "rejected_rows", "stage"].forEach(
      function (name) {
        var el = box.querySelector('[data-field="' + name + '"]');
        if (el) {
          el.textContent = data[name];
        }
      }
    );
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.finished) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 500);
      })
      .catch(function () {
        // A restart of the server or a dropped connection: try again a little later.
        window.setTimeout(poll, 2000);
      });
  }

  window.setTimeout(poll, 500);
})();
