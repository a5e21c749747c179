// City picker: type the first letters of a Russian city name, pick from the list.
// Progressive enhancement over a text input + hidden id (kabinet/geo/forms.py).
(function () {
  "use strict";
  function setup(root) {
    var input = root.querySelector("[data-city-query]");
    var hidden = root.querySelector("[data-city-id]");
    var url = root.getAttribute("data-url");
    var list = document.createElement("ul");
    list.setAttribute("role", "listbox");
    list.hidden = true;
    root.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    var items = [], active = -1, timer = null, seq = 0;

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function choose(item) {
      input.value = item.name; hidden.value = item.id; close();
      root.dispatchEvent(new CustomEvent("city-picked", { detail: item, bubbles: true }));
    }
    function render() {
      list.textContent = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.textContent = item.name;
        var small = document.createElement("small");
        small.textContent = item.region;
        li.appendChild(small);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
    }
    function search() {
      var q = input.value.trim();
      if (!q) { items = []; render(); return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (mine === seq) { items = data; active = -1; render(); } })
        .catch(function () { /* the no-JS path (full name) still works */ });
    }
    input.addEventListener("input", function () {
      hidden.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { active = Math.min(active + 1, items.length - 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
      else if (e.key === "Enter" && active >= 0) { choose(items[active]); e.preventDefault(); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }
  document.querySelectorAll("[data-city-picker]").forEach(setup);
})();
