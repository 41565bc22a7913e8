/* The graph explorer: pan and zoom the SVG (wheel, drag, the +/−/Reset buttons)
   and move between nodes with the arrow keys. Re-centring, filters and tie
   details are plain links and forms (enhanced by htmx); nothing here is
   needed to use the page. No framework, no build step. */
(function () {
  "use strict";

  var MIN_SCALE = 0.5; // zoomed out: the original view at half size
  var MAX_SCALE = 6; // zoomed in: six times the original size
  var DRAG_THRESHOLD = 4; // px before a press on a link becomes a drag

  function numbers(text) {
    return text.trim().split(/[\s,]+/).map(Number);
  }

  function viewBox(svg) {
    return numbers(svg.getAttribute("viewBox"));
  }

  function setViewBox(svg, box) {
    svg.setAttribute("viewBox", box.map(function (v) { return Math.round(v * 10) / 10; }).join(" "));
  }

  function visible(svg) {
    return svg.getBoundingClientRect().width > 0;
  }

  function zoomableIn(root) {
    return Array.prototype.filter.call(root.querySelectorAll("svg[data-zoomable]"), visible);
  }

  function toSvg(svg, clientX, clientY) {
    var point = svg.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  // factor < 1 zooms in; (x, y) in SVG units stays where it is.
  function zoom(svg, factor, x, y) {
    var box = viewBox(svg);
    var original = numbers(svg.getAttribute("data-viewbox"));
    var scale = original[2] / (box[2] * factor);
    if (scale < MIN_SCALE || scale > MAX_SCALE) return;
    if (x === undefined) {
      x = box[0] + box[2] / 2;
      y = box[1] + box[3] / 2;
    }
    setViewBox(svg, [x - (x - box[0]) * factor, y - (y - box[1]) * factor, box[2] * factor, box[3] * factor]);
  }

  document.addEventListener("wheel", function (event) {
    var svg = event.target.closest && event.target.closest("svg[data-zoomable]");
    if (!svg) return;
    event.preventDefault();
    var at = toSvg(svg, event.clientX, event.clientY);
    zoom(svg, event.deltaY < 0 ? 0.85 : 1 / 0.85, at.x, at.y);
  }, { passive: false });

  var drag = null;

  document.addEventListener("pointerdown", function (event) {
    var svg = event.target.closest && event.target.closest("svg[data-zoomable]");
    if (!svg || event.button !== 0) return;
    drag = { svg: svg, x: event.clientX, y: event.clientY, box: viewBox(svg), moved: false, id: event.pointerId };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.id) return;
    var dx = event.clientX - drag.x;
    var dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < DRAG_THRESHOLD) return;
    if (!drag.moved) {
      drag.moved = true;
      drag.svg.classList.add("is-dragging");
    }
    var perPixel = drag.box[2] / drag.svg.getBoundingClientRect().width;
    setViewBox(drag.svg, [drag.box[0] - dx * perPixel, drag.box[1] - dy * perPixel, drag.box[2], drag.box[3]]);
  });

  function endDrag(event) {
    if (!drag || event.pointerId !== drag.id) return;
    drag.svg.classList.remove("is-dragging");
    if (drag.moved) {
      // The press ended a drag, not a click: keep the link under it from following.
      var svg = drag.svg;
      var swallow = function (click) {
        click.preventDefault();
        click.stopPropagation();
      };
      svg.addEventListener("click", swallow, { capture: true, once: true });
      setTimeout(function () { svg.removeEventListener("click", swallow, { capture: true }); }, 0);
    }
    drag = null;
  }
  document.addEventListener("pointerup", endDrag);
  document.addEventListener("pointercancel", endDrag);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-graph-zoom]");
    if (!button) return;
    var canvas = button.closest(".explorer-canvas") || document;
    zoomableIn(canvas).forEach(function (svg) {
      var action = button.getAttribute("data-graph-zoom");
      if (action === "in") zoom(svg, 0.75);
      else if (action === "out") zoom(svg, 1 / 0.75);
      else svg.setAttribute("viewBox", svg.getAttribute("data-viewbox"));
    });
  });

  // Arrow keys move the focus to the nearest node in that direction.
  var DIRECTIONS = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] };
  document.addEventListener("keydown", function (event) {
    var direction = DIRECTIONS[event.key];
    var from = event.target.closest && event.target.closest("a.gnode");
    if (!direction || !from || event.altKey || event.ctrlKey || event.metaKey) return;
    var svg = from.closest("svg");
    var x = Number(from.getAttribute("data-x"));
    var y = Number(from.getAttribute("data-y"));
    var best = null;
    var bestCost = Infinity;
    svg.querySelectorAll("a.gnode").forEach(function (node) {
      var along = (Number(node.getAttribute("data-x")) - x) * direction[0] + (Number(node.getAttribute("data-y")) - y) * direction[1];
      var across = Math.abs((Number(node.getAttribute("data-x")) - x) * direction[1] + (Number(node.getAttribute("data-y")) - y) * direction[0]);
      if (node === from || along <= 0) return;
      var cost = along + 2 * across;
      if (cost < bestCost) {
        bestCost = cost;
        best = node;
      }
    });
    if (best) {
      event.preventDefault();
      best.focus();
    }
  });

  // Selecting a tie or changing a filter redraws the explorer: keep the zoom
  // when the graph still has the same centre.
  var kept = {};
  document.addEventListener("htmx:beforeSwap", function () {
    kept = {};
    zoomableIn(document).forEach(function (svg) {
      kept[svg.getAttribute("class") + "|" + svg.getAttribute("data-centre")] = svg.getAttribute("viewBox");
    });
  });

  // Re-centring or selecting a tie swaps the whole explorer, the pressed link
  // with it, and focus would fall to <body>. htmx keeps it on an element whose
  // id comes back (the filters' inputs); otherwise it moves to the new
  // content's heading: the works of the selected tie, or the new centre's
  // name (WAI-ARIA APG). A poll, which nobody pressed, moves nothing.
  var focusAfterSwap = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var explorer = document.getElementById("explorer");
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var pressed = elt && elt !== explorer && explorer && explorer.contains(elt);
    focusAfterSwap = explorer && (pressed || explorer.contains(document.activeElement))
      ? explorer.getAttribute("data-centre")
      : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (focusAfterSwap === null) return;
    var centreBefore = focusAfterSwap;
    focusAfterSwap = null;
    var active = document.activeElement;
    if (active && active !== document.body && document.documentElement.contains(active)) return;
    var explorer = document.getElementById("explorer");
    if (!explorer) return;
    var tie = explorer.getAttribute("data-centre") === centreBefore && document.getElementById("graph-edge-title");
    var heading = tie || document.getElementById("explorer-title");
    if (heading) heading.focus();
  });

  function enhance(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".graph-zoom[hidden]").forEach(function (bar) {
      bar.hidden = false;
    });
    (root.querySelectorAll ? root : document).querySelectorAll("svg[data-zoomable]").forEach(function (svg) {
      var box = kept[svg.getAttribute("class") + "|" + svg.getAttribute("data-centre")];
      if (box) svg.setAttribute("viewBox", box);
    });
    kept = {};
  }
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
})();
