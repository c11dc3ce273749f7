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

/* Idle sign-out: warn two minutes before the server ends an idle session, with a "Stay signed
   in" button that keeps it without leaving the page; and while someone is typing, keep the
   session in the background, so a long note is never lost to the timeout. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var warning = document.getElementById("timeout-warning");
    if (!warning || !window.fetch) { return; }
    var left = parseInt(warning.getAttribute("data-seconds-left"), 10);
    if (isNaN(left)) { return; }
    var form = warning.querySelector("form");
    var title = warning.querySelector(".timeout-warning__title");
    var text = warning.querySelector(".timeout-warning__text");
    var LEAD = 120000;
    var lastContact = Date.now(), ends = lastContact + left * 1000, lastTyped = 0;
    var ended = false, busy = false, returnFocus = null;
    // Other tabs of the same session share when it ends (a time only: nothing about any case).
    var KEY = "riskhub-session-ends";
    function share() { try { window.localStorage.setItem(KEY, String(ends)); } catch (e) { /* storage off */ } }
    function shared() {
      try { var other = parseInt(window.localStorage.getItem(KEY), 10); if (other > ends) { ends = other; } }
      catch (e) { /* storage off */ }
    }
    share();

    function keepAlive() {
      if (busy || ended) { return Promise.resolve(false); }
      busy = true;
      return fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                                  headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (response.redirected || response.status === 401) { return false; }  // sent to sign in
          if (!response.ok) { return null; }  // a server error is not a sign-out: try again later
          return response.json().then(function (data) { return data.signed_in === true ? data : false; });
        })
        .catch(function () { return null; })  // offline: not known to be signed out
        .then(function (data) {
          busy = false;
          if (data) { lastContact = Date.now(); ends = lastContact + data.seconds_left * 1000; share(); }
          if (data === false) { signedOut(); }
          return data;
        });
    }

    function signedOut() {
      ended = true;
      warning.classList.add("timeout-warning--ended");
      title.textContent = "You have been signed out";
      text.textContent = "You were signed out after a time without activity. Anything you typed is still on " +
        "this page: copy it before you sign in again, then save it.";
      form.hidden = true;
      warning.hidden = false;
      warning.focus();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      keepAlive().then(function (data) {
        if (!data) { return; }
        warning.hidden = true;
        if (returnFocus && document.body.contains(returnFocus)) { returnFocus.focus(); }
      });
    });

    document.addEventListener("input", function (event) {
      if (!warning.contains(event.target)) { lastTyped = Date.now(); }
    });

    function check() {
      if (ended) { return; }
      var now = Date.now();
      shared();
      if (now < ends - LEAD && !warning.hidden) { warning.hidden = true; }  // kept in another tab
      if (lastTyped > lastContact && now - lastContact > 60000 && now < ends) { keepAlive(); return; }
      if (now >= ends) { signedOut(); return; }
      if (now >= ends - LEAD && warning.hidden) {
        returnFocus = document.activeElement;
        warning.hidden = false;
        warning.focus();
      }
    }
    check();
    window.setInterval(check, 5000);
  });
})();
