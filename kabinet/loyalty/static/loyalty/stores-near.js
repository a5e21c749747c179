// Stores page (L-CAB-9): the nearest stores by the browser's geolocation; without it, the
// city picker on the same page still works.
(function () {
  "use strict";
  var button = document.querySelector("[data-locate]");
  if (!button) return;
  var status = document.querySelector("[data-locate-status]");
  var section = document.querySelector("[data-near-section]");
  var rows = document.querySelector("[data-near-rows]");

  function say(text) { status.hidden = false; status.textContent = text; }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function show(stores) {
    rows.textContent = "";
    stores.forEach(function (s) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(s.name));
      tr.appendChild(cell((s.city ? s.city + ", " : "") + s.address));
      tr.appendChild(cell(String(s.distance_km).replace(".", ",") + " км", "num"));
      var part = cell("");
      var badge = document.createElement("span");
      badge.className = s.takes_part ? "badge badge-ok" : "badge badge-warn";
      badge.textContent = s.takes_part ? "участвует" : "не участвует";
      part.appendChild(badge);
      tr.appendChild(part);
      rows.appendChild(tr);
    });
    section.hidden = false;
    say(stores.length ? "Найдено магазинов: " + stores.length : "Магазинов рядом не нашлось");
  }

  button.addEventListener("click", function () {
    if (!navigator.geolocation) { say("Браузер не умеет определять местоположение: выберите город"); return; }
    say("Определяем местоположение…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = button.getAttribute("data-near-url") + "?lat=" + pos.coords.latitude.toFixed(5) +
        "&lon=" + pos.coords.longitude.toFixed(5);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (data) { show(data.stores); })
        .catch(function () { say("Не удалось загрузить магазины. Выберите город"); });
    }, function () {
      say("Местоположение недоступно: выберите город");
    }, { timeout: 10000, maximumAge: 600000 });
  });
})();
