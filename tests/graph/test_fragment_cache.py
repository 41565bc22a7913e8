"""The graph fragment from the cache for anonymous visitors: ready slices only."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from graph import services
from graph.models import GraphSlice
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.graph.test_views import HTMX, ready, researcher, slice_url

pytestmark = pytest.mark.django_db


def test_ready_fragment_and_its_full_page_are_cached_apart(client, django_assert_num_queries):
    grace, _ = researcher()
    ready(grace)
    for _ in range(2):
        fragment = client.get(slice_url(grace.pk), **HTMX)
        page = client.get(slice_url(grace.pk))
        assert "<html" not in fragment.content.decode() and "<svg" in fragment.content.decode()
        assert "<html" in page.content.decode() and "<svg" in page.content.decode()
        for response in (fragment, page):
            assert "public" in response["Cache-Control"]
            assert f"s-maxage={settings.PAGE_CACHE_SHARED_SECONDS}" in response["Cache-Control"]
            assert {"Cookie", "HX-Request"} <= set(response["Vary"].split(", "))
            assert not response.cookies
            assert "csrfmiddlewaretoken" not in response.content.decode()
    with django_assert_num_queries(0):
        assert client.get(slice_url(grace.pk), **HTMX).content == fragment.content
        assert client.get(slice_url(grace.pk)).content == page.content


def test_a_building_fragment_is_never_cached_and_gives_way_to_the_ready_one(
    client, django_capture_on_commit_callbacks
):
    grace, _ = researcher()
    for _ in range(2):
        with django_capture_on_commit_callbacks():  # queued, but no worker builds it yet
            building = client.get(slice_url(grace.pk), **HTMX)
        assert "Building this graph slice" in building.content.decode()
        assert "no-store" in building["Cache-Control"]
        assert "public" not in building["Cache-Control"]

    assert services.slice_build(author_id=grace.pk) == "built"
    response = client.get(slice_url(grace.pk), **HTMX)
    html = response.content.decode()
    assert "<svg" in html and "Building this graph slice" not in html


def test_a_failed_fragment_is_not_shared(client):
    grace, _ = researcher()
    services.slices_mark_queued(author_ids=[grace.pk])
    GraphSlice.objects.filter(pk=grace.pk).update(status=GraphSlice.Status.FAILED)
    response = client.get(slice_url(grace.pk), **HTMX)
    assert "could not be built" in response.content.decode()
    assert "public" not in response["Cache-Control"]


def test_a_slice_rebuilt_by_the_worker_replaces_the_cached_fragment(
    client, django_capture_on_commit_callbacks
):
    grace, _ = researcher()
    ready(grace)
    assert "Newcomer" not in client.get(slice_url(grace.pk), **HTMX).content.decode()
    # A new paper: the fragment cached meanwhile still draws the slice built before it.
    work = WorkFactory(title="A newer paper", publication_year=2024)
    AuthorshipFactory(work=work, author=grace, position=0)
    AuthorshipFactory(work=work, author=AuthorFactory(display_name="Newcomer"), position=1)
    assert "Newcomer" not in client.get(slice_url(grace.pk), **HTMX).content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # the worker's build
        services.slices_queue(author_ids=[grace.pk])
    assert "Newcomer" in client.get(slice_url(grace.pk), **HTMX).content.decode()


def test_signed_in_visitors_get_the_live_fragment(client):
    grace, _ = researcher()
    ready(grace)
    client.get(slice_url(grace.pk), **HTMX)
    signed_in = Client()
    signed_in.force_login(get_user_model().objects.create_user("bo", "bo@example.org", "pw-1-long"))
    response = signed_in.get(slice_url(grace.pk), **HTMX)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]


def test_a_poll_still_stops_polling_once_the_fragment_is_cached(client):
    grace, _ = researcher()
    ready(grace)
    client.get(slice_url(grace.pk), **HTMX)
    poll = client.get(slice_url(grace.pk), HTTP_HX_TRIGGER="graph-slice-poll", **HTMX)
    assert poll.status_code == 286 and "<svg" in poll.content.decode()


def test_a_merged_record_redirects_even_once_its_fragment_is_cached(client):
    grace, _ = researcher()
    ready(grace)
    survivor = AuthorFactory()
    assert client.get(slice_url(grace.pk), **HTMX).status_code == 200
    grace.merged_into = survivor
    grace.save()
    response = client.get(slice_url(grace.pk), **HTMX)
    assert response.status_code == 301
    assert response["Location"] == slice_url(survivor.pk)
