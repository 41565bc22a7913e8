"""The demo record of the seed researcher reads as the seed page does."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.profiles.test_researcher_page import text_of
from works.models import Author

pytestmark = pytest.mark.django_db


@pytest.fixture
def hattie():
    call_command("load_demo", "--synthetic", "0", verbosity=0)
    return Author.objects.get(display_name="Hattie Zhou")


def test_seed_researcher_page_reads_as_the_seed(client, hattie):
    text = text_of(client.get(reverse("profiles:researcher_detail", args=[hattie.pk])))
    for expected in (
        "Hattie Zhou",
        "Affiliation not imported",
        "Open to collaborate",
        "Trust 15 - Unverified",
        "Verification L1",
        "Unclaimed author",
        "3 works",
        "0 followers",
        "Follow researcher",
        "Log in to claim",
        "Claim this author entity first to unlock direct invitations.",
        "3 published item(s)",
    ):
        assert expected in text, expected


def test_seed_works_are_listed_newest_first_with_type_year_and_venue(client, hattie):
    text = text_of(client.get(reverse("profiles:researcher_detail", args=[hattie.pk])))
    titles = [
        "Fortuitous Forgetting in Connectionist Networks",
        "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask",
        "LCA: Loss Change Allocation for Neural Network Training",
    ]
    positions = [text.find(t) for t in titles]
    assert -1 not in positions and positions == sorted(positions)
    assert "preprint 2022 arXiv Fortuitous Forgetting" in text


def test_seed_close_collaborators_are_her_repeat_coauthors(client, hattie):
    response = client.get(reverse("profiles:researcher_detail", args=[hattie.pk]))
    names = {c.display_name for c in response.context["collaborators"]}
    assert names == {"Janice Lan", "Rosanne Liu", "Jason Yosinski"}
