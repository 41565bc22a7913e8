/* Polling that stops while the tab is hidden. Every element with data-poll
   receives a "poll" event every data-poll milliseconds while the page is
   visible, and one at once when it becomes visible again; htmx listens with
   hx-trigger="poll". (The policy forbids eval, so no htmx trigger filter.) */
(function () {
  "use strict";

  var DEFAULT_MS = 4000;

  function fire() {
    if (document.visibilityState !== "visible") {
      return;
    }
    document.querySelectorAll("[data-poll]").forEach(function (element) {
      element.dispatchEvent(new CustomEvent("poll"));
    });
  }

  function every() {
    var element = document.querySelector("[data-poll]");
    var ms = element ? Number(element.getAttribute("data-poll")) : DEFAULT_MS;
    return ms > 0 ? ms : DEFAULT_MS;
  }

  function start() {
    window.setInterval(fire, every());
    document.addEventListener("visibilitychange", fire);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
