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
      var survivorVersion = form.querySelector("input[name='survivor_version']");  // survivor side only
      var dirty = false, busy = false, stopped = false;
      form.addEventListener("input", function () { dirty = true; if (status) { status.textContent = "Unsaved changes"; } });
      window.setInterval(function () {
        if (!dirty || busy || stopped) { return; }
        busy = true; dirty = false;
        fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                             headers: { "Accept": "application/json" } })
          .then(function (response) {
            var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
            return (json ? response.json() : Promise.resolve({})).then(function (data) {
              return [response.status, data, response.redirected];
            });
          })
          .then(function (result) {
            var code = result[0], data = result[1], kept = " Autosave has stopped; your text is still here: copy it before you leave the page.";
            if (code === 200 && data.saved) {
              version.value = data.version;
              if (survivorVersion && data.survivor_version !== undefined) { survivorVersion.value = data.survivor_version; }
              if (status) { status.textContent = "Saved automatically at " + new Date().toLocaleTimeString(); }
            } else if (result[2]) {  // sent to the sign-in page
              stopped = true;
              if (status) { status.textContent = "You have been signed out, so this was not saved." + kept; }
            } else if (code === 409 || data.refused) {  // changed by someone else, or the meeting was closed
              stopped = true;
              if (status) { status.textContent = (data.message || "Someone else saved these minutes meanwhile.") + kept; }
            } else if (code === 404) {
              stopped = true;
              if (status) { status.textContent = "This case is no longer on the agenda, so the minutes cannot be saved here." + kept; }
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

/* Sign-out warning: two minutes before the server ends a session, say so. Before the idle
   sign-out, a "Stay signed in" button keeps the session without leaving the page, and while
   someone is typing the session is kept in the background, so a long note is never lost to the
   timeout; before the lifetime limit, which nothing extends, say to save now. Signing out in one
   tab hides the case content of every other tab of riskhub in the same browser. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var warning = document.getElementById("timeout-warning");
    if (!warning || !window.fetch) { return; }
    var left = parseInt(warning.getAttribute("data-seconds-left"), 10);
    if (isNaN(left)) { return; }
    var form = warning.querySelector("form");
    var title = warning.querySelector(".timeout-warning__title");
    var problem = warning.querySelector("[data-problem]");
    var signIn = warning.querySelector("[data-sign-in]");
    var statusUrl = warning.getAttribute("data-status-url");
    var LEAD = 120000;
    var loaded = Date.now(), lastContact = loaded, ends = loaded + left * 1000, lastTyped = 0;
    var final = warning.getAttribute("data-final") === "true";
    var ended = false, keeping = null, asking = null, returnFocus = null;
    // Other tabs of the same session share when it ends and when someone signs out: times only,
    // nothing about any case.
    var ENDS = "riskhub-session-ends", SIGNED_OUT = "riskhub-signed-out";
    function store(key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* storage off */ } }
    function stored(key) {
      try { return parseInt(window.localStorage.getItem(key), 10); } catch (e) { return NaN; }
    }
    // The newest word from the server wins, whichever tab heard it.
    function share() { store(ENDS, JSON.stringify({ at: lastContact, ends: ends, final: final })); }
    function shared() {
      var other;
      try { other = JSON.parse(window.localStorage.getItem(ENDS) || "null"); } catch (e) { return; }
      if (other && other.at > lastContact && typeof other.ends === "number") {
        lastContact = other.at; ends = other.ends; final = other.final === true;
      }
    }
    share();

    function show(state) {
      var texts = warning.querySelectorAll("[data-state]"), shown = null;
      for (var i = 0; i < texts.length; i += 1) {
        texts[i].hidden = texts[i].getAttribute("data-state") !== state;
        if (!texts[i].hidden) { shown = texts[i]; }
      }
      title.textContent = shown.getAttribute("data-title");
      problem.hidden = true;
      form.hidden = state !== "idle";
      signIn.hidden = !/^(ended|elsewhere)/.test(state);
      warning.classList.toggle("timeout-warning--ended", !signIn.hidden);
    }

    // Keep the sticky warning from covering the field that has the focus.
    function reserveSpace() {
      document.documentElement.style.scrollPaddingTop = warning.hidden ? "" : (warning.offsetHeight + 16) + "px";
    }
    function open() {
      returnFocus = document.activeElement;
      warning.hidden = false;
      reserveSpace();
      warning.focus();
    }
    function close() {
      var hadFocus = warning.contains(document.activeElement);
      warning.hidden = true;
      reserveSpace();
      if (hadFocus && returnFocus && document.body.contains(returnFocus)) { returnFocus.focus(); }
    }

    // What the server says of the session: its answer, false once it has ended (sent to sign in),
    // or null when it could not be asked (offline, a server error): not known to be over.
    function ask(request) {
      return fetch(request.url, { method: request.method, body: request.body, credentials: "same-origin",
                                  headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (response.redirected || response.status === 401) { return false; }
          if (!response.ok) { return null; }
          return response.json().then(function (data) { return data.signed_in === true ? data : false; });
        })
        .catch(function () { return null; })
        .then(function (data) {
          if (data) {
            lastContact = Date.now(); ends = lastContact + data.seconds_left * 1000; final = data.final === true;
            share();
          }
          if (data === false) { signedOut(); }
          return data;
        });
    }
    function keepAlive() {
      if (ended) { return Promise.resolve(false); }
      if (!keeping) {
        keeping = ask({ url: form.action, method: "POST", body: new FormData(form) })
          .then(function (data) { keeping = null; return data; });
      }
      return keeping;  // a second press while the first is on its way waits for the same answer
    }
    function stillSignedIn() {
      if (!asking) {
        asking = ask({ url: statusUrl, method: "GET" }).then(function (data) { asking = null; return data; });
      }
      return asking;
    }

    function announce() {
      if (warning.hidden) { open(); }
      title.focus();  // moving the focus makes screen readers read the new heading
    }
    function signedOut() {
      if (ended) { return; }
      ended = true;
      show(final ? "ended-final" : "ended");
      announce();
    }
    function signedOutElsewhere() {
      ended = true;
      show("elsewhere");
      var main = document.getElementById("main-content");
      if (main) { main.hidden = true; }
      var banners = document.querySelectorAll(".restricted");
      for (var i = 0; i < banners.length; i += 1) { banners[i].hidden = true; }
      announce();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      keepAlive().then(function (data) {
        if (data === null) { problem.hidden = false; reserveSpace(); problem.focus(); return; }
        if (!data) { return; }
        if (final) { show("final"); announce(); return; }
        close();
      });
    });

    document.addEventListener("input", function (event) {
      if (!warning.contains(event.target)) { lastTyped = Date.now(); }
    });

    var signOutForm = document.querySelector("form[data-sign-out]");
    if (signOutForm) {
      // This tab stops its own warnings; the others hear of it from the page the server answers
      // with once the session has ended (below), not before: a sign-out that never reached the
      // server leaves them as they are.
      signOutForm.addEventListener("submit", function () { ended = true; });
    }
    function signedOutSince() { return !ended && stored(SIGNED_OUT) >= loaded; }
    window.addEventListener("storage", function (event) {
      if (event.key === SIGNED_OUT && signedOutSince()) { signedOutElsewhere(); }
    });
    // A page brought back by the browser's Back button after a sign-out is hidden too.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && signedOutSince()) { signedOutElsewhere(); }
    });

    function check() {
      if (ended || keeping || asking) { return; }
      var now = Date.now();
      shared();
      if (now < ends - LEAD && !warning.hidden) { close(); }  // kept in another tab
      if (!final && lastTyped > lastContact && now - lastContact > 60000 && now < ends) { keepAlive(); return; }
      if (now >= ends) {
        // Ask before saying it is over: another tab may have kept the session meanwhile.
        stillSignedIn();
        return;
      }
      if (now >= ends - LEAD && warning.hidden) {
        show(final ? "final" : "idle");
        open();
      }
    }
    check();
    window.setInterval(check, 5000);
  });
})();

/* The page shown after a sign-out tells the browser's other riskhub tabs, which hide their
   contents (see the sign-out warning above). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-signed-out]")) { return; }
    try { window.localStorage.setItem("riskhub-signed-out", String(Date.now())); } catch (e) { /* storage off */ }
  });
})();
