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
