/* Enhancements only: every page works without this file. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary so keyboard and screen-reader users hear the problems.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    // Links in the error summary move focus to the field, not just scroll to it.
    document.querySelectorAll(".error-summary__list a").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var target = document.getElementById(link.getAttribute("href").slice(1));
        if (!target) { return; }
        event.preventDefault();
        var input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
        (input || target).focus();
        target.scrollIntoView({ block: "center" });
      });
    });
  });
})();

/* Minutes autosave: every 20 seconds after typing, post the form in the background.
   The server checks the version, so a conflicting edit is reported, never overwritten. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.autosave").forEach(function (form) {
      var status = form.querySelector(".autosave__status");
      var version = form.querySelector("input[name='version']");
      var dirty = false, busy = false, stopped = false;
      form.addEventListener("input", function () { dirty = true; if (status) { status.textContent = "Unsaved changes"; } });
      window.setInterval(function () {
        if (!dirty || busy || stopped) { return; }
        busy = true; dirty = false;
        fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                             headers: { "Accept": "application/json" } })
          .then(function (response) { return response.json().then(function (data) { return [response.status, data]; }); })
          .then(function (result) {
            var code = result[0], data = result[1];
            if (code === 200 && data.saved) {
              version.value = data.version;
              if (status) { status.textContent = "Saved automatically at " + new Date().toLocaleTimeString(); }
            } else if (code === 409) {
              stopped = true;
              if (status) { status.textContent = data.message + " Autosave has stopped; your text is still here."; }
            } else {
              dirty = true;
              if (status) { status.textContent = "Not saved yet: check the form and press Save minutes."; }
            }
          })
          .catch(function () { dirty = true; if (status) { status.textContent = "Offline: your text is kept here; press Save minutes when back."; } })
          .then(function () { busy = false; });
      }, 20000);
    });

    /* Slot timer: minutes left in the planned slot of the case on screen. */
    document.querySelectorAll(".timer[data-ends]").forEach(function (timer) {
      var ends = new Date(timer.getAttribute("data-ends"));
      var out = timer.querySelector(".timer__remaining");
      function tick() {
        var left = Math.round((ends - new Date()) / 60000);
        out.textContent = left >= 0 ? " (" + left + " min left)" : " (" + (-left) + " min over)";
      }
      tick();
      window.setInterval(tick, 15000);
    });
  });
})();
