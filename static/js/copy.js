/* Copy buttons for identifiers (progressive enhancement). The buttons stay
   hidden until this script runs: without it the id is plain, selectable text.
   A copy is announced in the polite live region #live-status, and the button
   says "Copied" for a moment; keyboard users press it like any button. */
(function () {
  "use strict";

  function announce(text) {
    var live = document.getElementById("live-status");
    if (!live) {
      return;
    }
    // Emptied first, so that copying the same id twice is announced twice.
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = text;
    }, 50);
  }

  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    return copied;
  }

  function copy(button) {
    var text = button.getAttribute("data-copy") || "";
    var label = button.getAttribute("data-copy-label") || "";
    var face = button.firstChild;
    function done() {
      announce("Copied " + label + " " + text);
      face.textContent = "Copied";
      window.setTimeout(function () {
        face.textContent = "Copy";
      }, 2000);
    }
    function failed() {
      if (copyBySelection(text)) {
        done();
      } else {
        announce("Could not copy: select the " + label + " and copy it yourself.");
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("button[data-copy]");
    if (button) {
      copy(button);
    }
  });

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
  });
})();
