// "Отправить код ещё раз": disabled until the cool-down ends (the server enforces it anyway).
(function () {
  "use strict";
  var button = document.querySelector("[data-resend-in]");
  if (!button) return;
  var left = parseInt(button.getAttribute("data-resend-in"), 10) || 0;
  var note = document.querySelector("[data-resend-note]");
  var seconds = document.querySelector("[data-resend-seconds]");
  function tick() {
    if (left <= 0) {
      button.disabled = false;
      if (note) note.hidden = true;
      return;
    }
    button.disabled = true;
    if (note) note.hidden = false;
    if (seconds) seconds.textContent = String(left);
    left -= 1;
    setTimeout(tick, 1000);
  }
  tick();
})();
