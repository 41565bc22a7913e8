/* Keyboard focus across htmx swaps (WAI-ARIA practices: never drop focus to <body>).
   A request made from inside its own target (a "Follow" button in the form it
   replaces, a "Show more" link in the item it replaces) takes the focus with it:
   once the new content has settled, the first element in it marked
   data-focus-after-swap gets the focus (the new button, or the first newly
   loaded item, which has tabindex="-1"). Focus the reader moved elsewhere in
   the meantime is left alone. What changed is announced by the server, in the
   polite live region #live-status (an out-of-band swap). */
(function () {
  "use strict";

  var carried = new WeakSet();

  function hasFocus(element) {
    var active = document.activeElement;
    return !!active && active !== document.body && element.contains(active);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && event.detail.xhr && hasFocus(target)) {
      carried.add(event.detail.xhr);
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || !carried.has(xhr)) {
      return;
    }
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) {
      carried.delete(xhr);
      return;
    }
    var element = event.target;
    var next = element.matches("[data-focus-after-swap]")
      ? element
      : element.querySelector("[data-focus-after-swap]");
    if (next) {
      carried.delete(xhr);
      next.focus();
    }
  });
})();
