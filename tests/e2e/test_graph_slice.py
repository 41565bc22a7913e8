"""The profile page's graph slice in a real browser: its labels, at a phone's and a desktop's width.

The seed researcher's slice is built before the page is opened (in-process), so
the page shows the drawing at once.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import PolicyWatch, new_context
from works.models import Author

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every node of the drawing shown at this width, with its shape's and its label's boxes.
_NODES = """() => {
  const svg = [...document.querySelectorAll("#graph-slice svg.graph-svg")]
    .find((s) => s.getBoundingClientRect().width > 0);
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  return {
    frame: box(svg),
    nodes: [...svg.querySelectorAll("a.gnode")].map((a) => {
      const label = a.querySelector("text.glabel");
      return {
        href: a.getAttribute("href"),
        title: a.querySelector("title").textContent,
        shape: box(a.querySelector(".gnode-shape")),
        label: label ? label.textContent : null,
        labelBox: label ? box(label) : null,
        fontPx: label ? parseFloat(getComputedStyle(label).fontSize)
          * svg.getScreenCTM().a : null,
      };
    }),
  };
}"""


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_every_node_of_the_seed_graph_is_named_and_no_label_covers_another(
    browser: Browser, policy_watch: PolicyWatch, live_server, width: int
):
    call_command("load_demo", "--synthetic", "0", verbosity=0)
    call_command("build_graph_slices", "--all", verbosity=0)
    hattie = Author.objects.get(display_name="Hattie Zhou")
    context = new_context(browser, policy_watch, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/researchers/{hattie.pk}/")
        drawing = page.locator("#graph-slice svg.graph-svg:visible")
        expect(drawing).to_be_visible()
        # Names as the graph's list under the drawing gives them, by link.
        names = {
            link.get_attribute("href"): (link.text_content() or "").strip()
            for link in page.locator("#graph-slice .graph-index a").all()
        }
        assert len(names) == 14  # the centre, 6 co-authors, 3 papers, 4 topics

        # Every node is a link whose accessible name (its tooltip) says whom or what.
        for href, name in names.items():
            node = drawing.locator(f'a.gnode[href="{href}"]')
            expect(node).to_have_count(1)
            expect(node).to_have_accessible_name(re.compile(re.escape(name)))

        found = page.evaluate(_NODES)
        nodes = found["nodes"]
        labelled = [n for n in nodes if n["label"]]
        people = [n for n in nodes if n["href"].startswith("/researchers/")]
        # Every person is named on the drawing, the researcher too.
        assert [n["label"] for n in people if not n["label"]] == []
        if width == 1280:
            assert [n["title"] for n in nodes if not n["label"]] == []
        else:
            assert len(labelled) >= 11, [n["title"] for n in nodes if not n["label"]]
        for node in labelled:
            box = node["labelBox"]
            assert node["fontPx"] >= 12, f"{node['label']} is drawn at {node['fontPx']:.1f} px"
            frame = found["frame"]
            assert frame["left"] <= box["left"] and box["right"] <= frame["right"], node["label"]
            assert frame["top"] <= box["top"] and box["bottom"] <= frame["bottom"], node["label"]
            for other in nodes:
                if other is not node:
                    assert not _overlap(box, other["shape"]), (
                        f"the label {node['label']!r} covers the node {other['title']!r}"
                    )
                if other is not node and other["label"]:
                    assert not _overlap(box, other["labelBox"]), (
                        f"the labels {node['label']!r} and {other['label']!r} overlap"
                    )
    finally:
        context.close()
