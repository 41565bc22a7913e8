import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any, cast
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Count, Window
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, push_url

from bzpeer import pagecache, paging, ratelimit, staff
from bzpeer.cache import shared_get_or_build
from bzpeer.http import AuthenticatedHttpRequest, HtmxHttpRequest
from profiles import selectors, services
from profiles.collaboration import selectors as collaboration_selectors
from profiles.forms import (
    SEARCH_MAX_LENGTH,
    YEAR_MAX,
    YEAR_MIN,
    AffiliationForm,
    AffiliationHiddenForm,
    AuthorshipStatusForm,
    ClaimForm,
    DecisionForm,
    EmailAddressForm,
    EmailCodeForm,
    FollowForm,
    FollowSettingsForm,
    MissingWorkForm,
    ProfileSettingsForm,
    QueueFilterForm,
    WorksFilterForm,
)
from profiles.models import AuthorEvent, Claim, EmailCode, Follow, ProfileSettings
from profiles.signals import pending_follow_keep
from works import candidates, exports
from works.models import Author
from works.views import export_format_unknown


def _get_author_for_page(author_id: int, *, with_history: bool = False) -> Author:
    # The owner's settings and the metrics ride along: a reverse one-to-one
    # costs no extra query.
    authors = Author.objects.select_related("last_known_institution", "profile_settings", "metrics")
    if with_history:  # the affiliation history too, in the same query
        authors = selectors.with_affiliation_history(authors)
    return get_object_or_404(authors, pk=author_id)


_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _person_json_ld(
    author: Author,
    *,
    url: str,
    summary: str,
    topics: list[selectors.TopicCount],
    identifiers: list[selectors.Identifier],
) -> str:
    """schema.org Person, escaped so that no value can close the <script> element."""
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "Person",
        "name": author.display_name,
        "url": url,
        "description": summary,
    }
    if author.last_known_institution:
        data["affiliation"] = {
            "@type": "Organization",
            "name": author.last_known_institution.display_name,
        }
    same_as = [identifier.url for identifier in identifiers if identifier.url]
    if same_as:
        data["sameAs"] = same_as
    if author.name_variants:
        data["alternateName"] = author.name_variants
    if topics:
        data["knowsAbout"] = [t.topic.display_name for t in topics[: selectors.TOPICS_SHOWN]]
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES))


@dataclass(frozen=True)
class ResearcherPageFacts:
    """Kept with the shared researcher page: what its personal parts show for everyone."""

    author: Author
    counts: selectors.WorkCounts
    followers: int
    claim_status: selectors.ClaimStatus
    owner: ProfileSettings | None
    openness: collaboration_selectors.Openness
    trust: Any


# The parts of the researcher page that are the visitor's own, by their marks
# in the templates (bzpeer.pagecache.personalise).
_PERSONAL_PARTS = {
    "body": "base.html#body-tag",
    "nav": "base.html#site-nav",
    "messages": "base.html#messages",
    "follow": "profiles/researcher_detail.html#follow-button",
    "identity": "profiles/researcher_detail.html#identity-panel",
    "direct": "profiles/researcher_detail.html#direct-panel",
    "history-edit": "profiles/_identity.html#history-edit",
}


# Far beyond any researcher's last page: such numbers get the live page, not an entry each.
CACHED_PAGES_MAX = 10_000


def _works_cache_params(query: QueryDict) -> list[tuple[str, str]] | None:
    """The works list's parameters as the page cache keys them (pagecache `normalise`).

    Defaults are left out and values written one way, so "?sort=newest&q=a++b"
    and "?q=a b" share an entry; invalid values get the live page (a 400, or a
    page with a note), so junk makes no entries.
    """
    form = WorksFilterForm(query)
    if not form.is_valid():
        return None
    pairs = form.query()
    raw_page = query.get("page", "")
    if raw_page not in ("", "1"):
        if not raw_page.isdigit() or raw_page != str(int(raw_page)):
            return None
        if int(raw_page) > CACHED_PAGES_MAX:
            return None
        pairs.append(("page", raw_page))
    return pairs


def _works_fragment(request: HtmxHttpRequest, page: int) -> str | None:
    """The fragment an htmx request asks for; None for the whole page.

    "Show more" asks for a later page, appended to the list; the filter form
    for the first page of its results, swapped in place. A history restore
    that missed htmx's cache gets the whole page.
    """
    if not request.htmx or request.htmx.history_restore_request:
        return None
    return "works-more" if page > 1 else "works-response"


@require_safe
@vary_on_headers("HX-Request")
@pagecache.anonymous_page_cache(
    params=("page", *WorksFilterForm.PARAMS), normalise=_works_cache_params
)
def researcher_detail(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    if not request.htmx:
        # The visitor's state on this page, read with their session and user in one
        # statement: asked before request.user first touches the session.
        read_ahead = getattr(getattr(request, "session", None), "read_ahead", None)
        if read_ahead:
            read_ahead(selectors.visitor_read_ahead(author_id=author_id))
        if request.user.is_authenticated:
            response = _researcher_page_for_visitor(request, author_id)
            if response is not None:
                return response
    return _researcher_page(request, author_id)


def _researcher_page_for_visitor(request: HtmxHttpRequest, author_id: int) -> HttpResponse | None:
    """The shared page with this signed-in visitor's parts; None: build it live."""
    shared = pagecache.shared_page(
        request,
        author_id=author_id,
        # Through the view's own decorators: the same response an anonymous visit makes.
        build=lambda anonymous: researcher_detail(cast(HtmxHttpRequest, anonymous), author_id),
    )
    if shared is None or not isinstance(shared.facts, ResearcherPageFacts):
        return None
    facts = shared.facts
    user = cast(AbstractBaseUser, request.user)
    visitor = selectors.visitor_state(author_id=author_id, user=user, session=request.session)
    claim_status = dataclasses.replace(facts.claim_status, viewer_claim_id=visitor.claim_id)
    openness = facts.openness
    owner = facts.owner
    context = {
        "author": facts.author,
        "counts": facts.counts,
        "followers": facts.followers,
        "is_following": visitor.following,
        "trust": facts.trust,
        # The header's count, read with the rest: the context processor's query is not made.
        "inbox_unread": visitor.inbox_unread,
        **_visitor_context(
            request, facts.author, claim_status, owner, openness, standing=visitor.standing
        ),
    }
    content = pagecache.personalise(
        shared.content, pagecache.render_parts(request, _PERSONAL_PARTS, context)
    )
    if content is None:
        return None
    return HttpResponse(content, content_type=shared.headers.get("Content-Type"))


def _visitor_context(
    request: HttpRequest,
    author: Author,
    claim_status: selectors.ClaimStatus,
    owner: ProfileSettings | None,
    openness: collaboration_selectors.Openness,
    *,
    standing: collaboration_selectors.Standing | None = None,
) -> dict[str, Any]:
    """What the claim and invitation panels show this visitor: one reading for the page
    built live and for the shared page's personal parts, so the two cannot drift.

    standing: the visitor's, when it was read already; otherwise read if it matters.
    """
    return {
        "claim_status": claim_status,
        "owner": owner,
        "is_owner": request.user.is_authenticated and claim_status.owner_id == request.user.pk,
        "open_to_collaborate": openness.open if owner else author.open_to_collaborate,
        "invitations_from": openness.invitations_from,
        "invite_refusal": _invite_refusal(request, claim_status, openness, standing),
    }


def _merged_redirect(url: str) -> HttpResponse:
    """A merged record's address answers 301 to its survivor, which browsers must not
    keep: staff can undo the merge (profiles.record_operations), and the page is back."""
    response = HttpResponsePermanentRedirect(url)
    patch_cache_control(response, no_cache=True, max_age=0)
    return response


def _researcher_page(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id, with_history=True)
    if author.merged_into_id:
        return _merged_redirect(reverse("profiles:researcher_detail", args=[author.merged_into_id]))
    form = WorksFilterForm(request.GET)
    valid = form.is_valid()
    # Parts of the filter in error count as not given: the list shows the rest.
    filters = form.filters()
    counts = selectors.work_counts(author=author)
    matched = selectors.works_matched(author=author, filters=filters, total=counts.total)
    choice = paging.page_choice(
        request.GET.get("page"), num_pages=-(-matched // selectors.WORKS_PER_PAGE)
    )
    page = choice.number
    works = selectors.works_page(author=author, page=page, total=matched, filters=filters)
    authors = selectors.work_authors(author=author, work_ids=[w.pk for w in works])
    for work in works:
        work.listed_authors = authors.get(work.pk)  # type: ignore[attr-defined]
    has_more = page * selectors.WORKS_PER_PAGE < matched
    query = form.query()
    if valid:
        # Drawn from the values as read, so pages that share a cache entry look the same.
        form = WorksFilterForm(initial=dict(query))
    template = "profiles/researcher_detail.html"
    context: dict[str, object] = {
        "author": author,
        "works": works,
        "page": page,
        "page_note": choice.note,
        "next_page": page + 1 if has_more else None,
        "counts": counts,
        "matched": matched,
        "filters": filters,
        "filter_form": form,
        "filter_query": urlencode(query),
        "filter_valid": valid,
        # Co-authors' links from one reverse(): a {% url %} each cost a millisecond a page.
        "researcher_path": reverse("profiles:researcher_detail", args=[0]).split("0", 1),
    }
    status = 200 if valid else 400
    fragment = _works_fragment(request, page)
    if fragment is not None:
        response = render(request, f"{template}#{fragment}", context, status=status)
        if fragment == "works-response" and valid:
            # The address bar shows the filter as read, not every empty field of the form.
            push_url(response, f"{request.path}?{context['filter_query']}".rstrip("?"))
        return response

    # The page's costly reads are the same for every visitor: kept with the
    # author's cached pages for the builds that miss the shared entry.
    context.update(search_max_length_works=SEARCH_MAX_LENGTH, year_min=YEAR_MIN, year_max=YEAR_MAX)
    context["facets"] = pagecache.author_cached(
        author_id=author.pk,
        name="work-facets",
        compute=lambda: selectors.work_facets(author=author),
    )
    topics, (collaborators, collaborator_total, coauthor_total) = pagecache.author_cached(
        author_id=author.pk,
        # Named for the value's shape: entries of the older two-part shape are never read.
        name="topics-collaborators-coauthors",
        compute=lambda: (
            selectors.topic_counts(author=author),
            selectors.close_collaborators(author=author),
        ),
    )
    followers, is_following = selectors.follower_state(author=author, user=request.user)
    claim_status = selectors.claim_status(author=author, user=request.user, counts=counts)
    owner = selectors.owner_settings(author=author, status=claim_status)
    openness = collaboration_selectors.openness(author=author, owner_settings=owner)
    identifiers = selectors.author_identifiers(author=author)
    context.update(
        metrics=selectors.metrics_panel(author=author),
        topics=topics[: selectors.TOPICS_SHOWN],
        topic_total=len(topics),
        filter_topics=topics,
        collaborators=collaborators,
        collaborator_total=collaborator_total,
        coauthor_total=coauthor_total,
        identifiers=identifiers,
        affiliations=selectors.affiliation_history(author=author),
        hide_affiliations=owner is not None and not owner.shows("affiliation"),
        collaborator_threshold=selectors.CLOSE_COLLABORATOR_MIN_STRENGTH,
        followers=followers,
        is_following=is_following,
        summary=selectors.summary_line(author=author, topics=topics, owner_settings=owner),
        trust=selectors.trust_for_author(author=author, counts=counts, claim=claim_status.facts),
        **_visitor_context(request, author, claim_status, owner, openness),
    )
    context["canonical_url"] = request.build_absolute_uri(
        reverse("profiles:researcher_detail", args=[author.pk])
    )
    context["person_json_ld"] = _person_json_ld(
        author,
        url=str(context["canonical_url"]),
        summary=str(context["summary"]),
        topics=topics,
        identifiers=identifiers,
    )
    response = render(request, template, context, status=status)
    if not request.user.is_authenticated:
        # What a signed-in visitor's parts of this page need besides their own state.
        setattr(
            response,
            pagecache.FACTS_ATTRIBUTE,
            ResearcherPageFacts(
                author=author,
                counts=counts,
                followers=followers,
                claim_status=claim_status,
                owner=owner,
                openness=openness,
                trust=context["trust"],
            ),
        )
    return response


@require_safe
def researcher_export(request: HttpRequest, author_id: int, extension: str) -> HttpResponse:
    """The record's works in a citation format, as the works list shows them (its filter too)."""
    author = get_object_or_404(Author.objects.only("display_name", "merged_into"), pk=author_id)
    if author.merged_into_id:
        url = reverse("profiles:researcher_export", args=[author.merged_into_id, extension])
        query = request.GET.urlencode()
        return _merged_redirect(f"{url}?{query}" if query else url)
    if extension not in exports.FORMATS:
        return export_format_unknown(
            request,
            extension=extension,
            what=f"the works of {author.display_name}",
            url_name="profiles:researcher_export",
            object_id=author.pk,
        )
    form = WorksFilterForm(request.GET)
    if not form.is_valid():
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(
            f"This export's filter is not valid: {problems}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    works = selectors.export_works(author=author, filters=form.filters())
    return exports.attachment(
        works,
        extension=extension,
        name=author.display_name,
        suffix="works",
        fallback=f"researcher-{author.pk}",
    )


def _coauthor_sort(raw: str | None) -> tuple[str, str]:
    """The sort for ?sort=raw and a note when it is not one the page has."""
    if raw is None or raw == "" or raw in selectors.COAUTHOR_SORTS:
        return raw or selectors.COAUTHOR_SORT_DEFAULT, ""
    shown = raw if len(raw) <= 20 else raw[:20] + "…"
    names = ", ".join(f"“{key}”" for key in selectors.COAUTHOR_SORTS)
    return (
        selectors.COAUTHOR_SORT_DEFAULT,
        f"There is no sort “{shown}” (the sorts are {names}); showing the most shared works first.",
    )


@require_safe
@vary_on_headers("HX-Request")
@pagecache.anonymous_page_cache(params=("page", "sort"))
def coauthors(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    """Everyone who shares a work with the researcher, with how many and in which years."""
    author = _get_author_for_page(author_id)
    if author.merged_into_id:
        return _merged_redirect(reverse("profiles:coauthors", args=[author.merged_into_id]))
    hidden = selectors.collaborators_hidden(author=author)
    total = 0 if hidden else selectors.coauthor_count(author=author)
    sort, sort_note = _coauthor_sort(request.GET.get("sort"))
    choice = paging.page_choice(
        request.GET.get("page"), num_pages=-(-total // selectors.COAUTHORS_PER_PAGE)
    )
    page = choice.number
    rows = (
        selectors.coauthors_page(author=author, sort=sort, page=page)
        if total and not hidden
        else []
    )
    per_page = selectors.COAUTHORS_PER_PAGE
    context = {
        "author": author,
        "hidden": hidden,
        "coauthors": rows,
        "total": total,
        "sort": sort,
        "sorts": [(key, option.label) for key, option in selectors.COAUTHOR_SORTS.items()],
        "page": page,
        "first_shown": (page - 1) * per_page + 1,
        "last_shown": (page - 1) * per_page + len(rows),
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page * per_page < total else None,
        "page_note": " ".join(note for note in (sort_note, choice.note) if note),
    }
    template = "profiles/coauthors.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#coauthor-list"
    return render(request, template, context)


def _invite_refusal(
    request: HttpRequest,
    status: selectors.ClaimStatus,
    openness: collaboration_selectors.Openness,
    standing: collaboration_selectors.Standing | None = None,
) -> str | None:
    """Why the signed-in visitor may not invite the owner; one query (unless `standing` was
    read already), only when it can matter."""
    if (
        not request.user.is_authenticated
        or status.owner_id in (None, request.user.pk)
        or not openness.open
    ):
        return None
    return collaboration_selectors.invite_refusal(
        user=request.user,
        owner_id=status.owner_id,
        openness=openness,
        standing=standing or collaboration_selectors.standing_for(user=request.user),
    )


def _follow_after_log_in(request: HtmxHttpRequest, author: Author, *, follow: bool) -> HttpResponse:
    """An anonymous visitor logs in first and comes back following (profiles.signals)."""
    page_url = reverse("profiles:researcher_detail", args=[author.pk])
    login_url = f"{reverse('account_login')}?next={page_url}"
    response: HttpResponse = (
        HttpResponseClientRedirect(login_url) if request.htmx else redirect(login_url)
    )
    if follow:
        pending_follow_keep(response, author)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def follow(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    """POST: follow or unfollow. GET: the anonymous page's button.

    The page an anonymous visitor gets is shared (bzpeer.pagecache), so it
    holds no CSRF token and its button is a GET form. Only a wish to follow
    is kept, in a signed cookie (no session), until they log in; a GET never
    changes a signed-in user's follows.
    """
    author = _get_author_for_page(author_id)
    page_url = reverse("profiles:researcher_detail", args=[author.pk])
    if request.method in ("GET", "HEAD"):
        if request.user.is_authenticated:
            return redirect(page_url)
        return _follow_after_log_in(request, author, follow=True)
    form = FollowForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say whether to follow or unfollow.", status=400)
    following = form.cleaned_data["action"] == FollowForm.FOLLOW
    if not request.user.is_authenticated:
        return _follow_after_log_in(request, author, follow=following)
    services.follow_set(user=request.user, author=author, following=following)
    if request.GET.get("next") == "following":
        return redirect("profiles:following")
    if request.htmx:
        followers, is_following = selectors.follower_state(author=author, user=request.user)
        return render(
            request,
            "profiles/researcher_detail.html#follow-response",
            {"author": author, "followers": followers, "is_following": is_following},
        )
    return redirect(page_url)


@dataclass
class FeedDay:
    day: date
    events: list[AuthorEvent]
    continued: bool  # the previous page ended on this day: no second heading


def _path_maker(name: str) -> Callable[[int], str]:
    """A URL name's path for any id, from one reverse(): on a page of 30 events,
    the template's {% url %} tags took 7 of its 30 ms."""
    marker = 987_654_321
    head, tail = reverse(name, args=[marker]).split(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


def _feed_days(events: list[AuthorEvent], before: selectors.FeedCursor | None) -> list[FeedDay]:
    researcher, work = _path_maker("profiles:researcher_detail"), _path_maker("works:work_detail")
    for event in events:
        event.paths = {  # type: ignore[attr-defined]
            "author": researcher(event.author_id),
            "work": work(event.work_id) if event.work_id else "",
            "other": researcher(event.other_author_id) if event.other_author_id else "",
        }
    previous_day = timezone.localdate(before.created_at) if before else None
    return [
        FeedDay(day=day, events=list(day_events), continued=day == previous_day)
        for day, day_events in groupby(events, key=lambda e: timezone.localdate(e.created_at))
    ]


FEED_KINDS = [(kind.value, kind.label) for kind in AuthorEvent.Kind]
FOLLOWS_SHOWN = 25


class FeedKindError(ValueError):
    """A ?kind= the feed does not have."""


def _feed_kinds(request: HttpRequest) -> list[str]:
    """The kinds asked for in ?kind= (repeatable), in the page's order; FeedKindError if unknown."""
    asked = request.GET.getlist("kind")
    known = {value for value, _ in FEED_KINDS}
    unknown = sorted(set(asked) - known)
    if unknown:
        choices = ", ".join(value for value, _ in FEED_KINDS)
        raise FeedKindError(f"“kind” must be one of {choices}; not {', '.join(unknown)}.")
    return [value for value, _ in FEED_KINDS if value in asked]


# A user's rendered feed is kept while nothing it is drawn from changes
# (selectors.feed_state): rendering 30 events and 25 followed researchers with
# their settings was about 25 of the page's 32 ms. The expiry covers what no
# event announces (a researcher renamed by an import).
FEED_CACHE_SECONDS = 60


def _feed_html(
    request: AuthenticatedHttpRequest,
    *,
    template: str,
    variant: str,
    state: selectors.FeedState,
    context: Callable[[], dict[str, Any]],
) -> str:
    """The rendered feed, or one of its fragments, for this user: from the cache when
    what it is drawn from has not changed since it was rendered, else rendered and kept."""
    # The forms' CSRF tokens are masked with the visitor's secret: a page is
    # kept per secret, so one rendered before a log-in never posts with an old one.
    get_token(request)
    parts = (str(request.user.pk), variant, state.key, request.META["CSRF_COOKIE"])
    key = "feed:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return shared_get_or_build(
        key,
        lambda: render_to_string(template, context(), request=request),
        timeout=FEED_CACHE_SECONDS,
    )


@login_required
@require_safe
@vary_on_headers("HX-Request")
def following(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The feed of the researchers the user follows, and the list of them."""
    before = None
    try:
        kinds = _feed_kinds(request)
        if "before" in request.GET:
            before = selectors.FeedCursor.parse(request.GET["before"])
    except (selectors.FeedCursorError, FeedKindError) as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    # Every kind asked for is no filter at all: the same page and the same index.
    filtered = kinds if len(kinds) < len(FEED_KINDS) else []
    fragment = "feed-content"
    if request.htmx and not request.htmx.history_restore_request:
        # The filter form swaps the whole feed; "Show more" appends a page.
        fragment = "feed-body" if request.htmx.target == "feed-body" else "feed-more"

    def context() -> dict[str, Any]:
        page = selectors.feed_page(user=request.user, before=before, kinds=filtered)
        values: dict[str, Any] = {
            "days": _feed_days(page.events, before),
            "next_cursor": page.next_cursor,
            "before": before,
            "kinds": filtered,
            "kind_choices": FEED_KINDS,
            "kind_query": urlencode([("kind", kind) for kind in filtered]),
        }
        if fragment == "feed-body":
            values["follows_any"] = Follow.objects.filter(user=request.user).exists()
        elif fragment == "feed-more":
            values["loaded"] = len(page.events)
        elif fragment == "feed-content":
            # The sidebar names the most recent follows only: at 500 follows,
            # drawing every one cost ten times the feed itself.
            follows = list(
                Follow.objects.filter(user=request.user)
                .select_related("author", "author__last_known_institution")
                .annotate(total=Window(Count("id")))
                .order_by("-created_at", "-id")[:FOLLOWS_SHOWN]
            )
            values["follows"] = follows
            values["follows_total"] = follows[0].total if follows else 0
            values["follows_any"] = bool(follows)
        return values

    state = selectors.feed_state(user=request.user)
    html = _feed_html(
        request,
        template=f"profiles/following.html#{fragment}",
        variant=f"{fragment}|{','.join(filtered)}|{before or ''}",
        state=state,
        context=context,
    )
    if fragment != "feed-content":
        return HttpResponse(html)
    # The header's count was read with the feed's state: the context processor's query is not made.
    context_page = {"feed_content": mark_safe(html), "inbox_unread": state.inbox_unread}
    return render(request, "profiles/following.html", context_page)


def _get_follow_for_user(request: AuthenticatedHttpRequest, author_id: int) -> Follow:
    """The user's own follow of this researcher; a 404 for a researcher they do not follow."""
    return get_object_or_404(
        Follow.objects.select_related("author"), user=request.user, author_id=author_id
    )


@login_required
@require_POST
def follow_settings(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """What the user hears about one followed researcher, and how (the sidebar of /following/)."""
    follow = _get_follow_for_user(request, author_id)
    form = FollowSettingsForm(request.POST)
    if not form.is_valid():
        error = next(iter(form.errors.values()))[0]
        context = {"f": follow, "error": error, "open": True}
        template = (
            "profiles/_follow_settings.html" if request.htmx else "profiles/follow_settings.html"
        )
        return render(request, template, context, status=400)
    services.follow_settings_update(
        user=request.user, follow=follow, kinds=form.kinds(), delivery=form.cleaned_data["delivery"]
    )
    if request.htmx:
        return render(
            request, "profiles/_follow_settings.html", {"f": follow, "saved": True, "open": True}
        )
    messages.success(
        request, f"Saved for {follow.author.display_name}: {follow.settings_summary()}."
    )
    return redirect(reverse("profiles:following") + f"#follow-settings-{follow.author_id}")


# Claims: the claimant's side

# The works a claim form lists; the owner reviews every work after approval.
CLAIM_WORKS_SHOWN = 100


def _get_claim_for_user(request: HttpRequest, claim_id: int, *, as_claimant: bool = False) -> Claim:
    """A claim and its evidence are the claimant's and staff's only; anyone else gets a 404.

    as_claimant: actions only the claimant takes (withdraw), even a staff member may not.
    """
    claim = get_object_or_404(
        Claim.objects.select_related("author", "claimant", "email_institution", "decided_by"),
        pk=claim_id,
    )
    if claim.claimant_id == request.user.pk:
        return claim
    if as_claimant:
        raise Http404("No such claim.")
    staff.require_staff(request)
    return claim


def _orcid_configured(request: HttpRequest) -> bool:
    return bool(get_social_adapter(request).list_apps(request, provider="orcid"))


def _email_step_context(
    request: AuthenticatedHttpRequest, author: Author, **overrides: Any
) -> dict[str, Any]:
    now = timezone.now()
    context: dict[str, Any] = {
        "author": author,
        "institutions": selectors.record_institutions(author=author),
        "verified": services.email_verified_for_claim(user=request.user, author=author, now=now),
        "code_sent": EmailCode.objects.filter(
            user=request.user, author=author, used_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at")
        .first(),
        "email_form": EmailAddressForm(),
        "code_form": EmailCodeForm(),
        "email_error": "",
        "code_minutes": settings.CLAIM_EMAIL_CODE_MINUTES,
    }
    context.update(overrides)
    if context["verified"] is not None:
        context["verified_institution"] = selectors.institution_for_email(
            address=context["verified"].address, institutions=context["institutions"]
        )
    return context


def _claim_form_context(
    request: AuthenticatedHttpRequest, author: Author, form: ClaimForm | None = None
) -> dict[str, Any]:
    works = selectors.claim_works(author=author, limit=CLAIM_WORKS_SHOWN)
    orcid_uids = list(
        SocialAccount.objects.filter(user=request.user, provider="orcid").values_list(
            "uid", flat=True
        )
    )
    return {
        **_email_step_context(request, author),
        "form": form or ClaimForm(works=works),
        "works_total": selectors.work_counts(author=author).total,
        "works_shown": CLAIM_WORKS_SHOWN,
        "orcid_configured": _orcid_configured(request),
        "orcid_uids": orcid_uids,
        "orcid_proven": bool(author.orcid) and author.orcid in orcid_uids,
        "others_claiming": Claim.objects.filter(author=author, state__in=Claim.LIVE_STATES)
        .exclude(claimant=request.user)
        .exists(),
        "email_verified_account": EmailAddress.objects.filter(
            user=request.user, verified=True
        ).exists(),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def claim_start(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id)
    if author.merged_into_id:
        return redirect("profiles:claim_start", author_id=author.merged_into_id)
    mine = selectors.claim_live_for_user(author=author, user=request.user)
    if mine is not None:
        return redirect("profiles:claim_detail", claim_id=mine.pk)
    template = "profiles/claim_form.html"
    if request.method in ("GET", "HEAD"):
        return render(request, template, _claim_form_context(request, author))

    works = selectors.claim_works(author=author, limit=CLAIM_WORKS_SHOWN)
    form = ClaimForm(request.POST, works=works)
    if ratelimit.limit_exceeded(request, action="claim_submit"):
        form.is_valid()
        form.add_error(None, "Too many claims submitted: wait an hour and try again.")
        return render(request, template, _claim_form_context(request, author, form), status=429)
    if not form.is_valid():
        return render(request, template, _claim_form_context(request, author, form), status=400)
    mine_ids, not_mine_ids = form.selections()
    try:
        claim = services.claim_submit(
            user=request.user,
            author=author,
            links=form.cleaned_data["links"],
            statement=form.cleaned_data["statement"],
            works_mine=mine_ids,
            works_not_mine=not_mine_ids,
        )
    except services.ClaimError as error:
        form.add_error(None, str(error))
        return render(request, template, _claim_form_context(request, author, form), status=400)
    messages.success(request, "Your claim is in. Staff review claims oldest first.")
    return redirect("profiles:claim_detail", claim_id=claim.pk)


def _email_step_response(
    request: AuthenticatedHttpRequest, author: Author, *, status: int = 200, **overrides: Any
) -> HttpResponse:
    if request.htmx:
        return render(
            request,
            "profiles/claim_form.html#email-step",
            _email_step_context(request, author, **overrides),
            status=status,
        )
    if status >= 400:
        context = {**_claim_form_context(request, author), **overrides}
        return render(request, "profiles/claim_form.html", context, status=status)
    return redirect(reverse("profiles:claim_start", args=[author.pk]) + "#email-step")


@login_required
@require_POST
def claim_email_send(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id)
    form = EmailAddressForm(request.POST)
    if ratelimit.limit_exceeded(request, action="claim_email_code"):
        return _email_step_response(
            request,
            author,
            status=429,
            email_form=form,
            email_error="Too many codes asked for: wait a few minutes and try again.",
        )
    if not form.is_valid():
        return _email_step_response(request, author, status=400, email_form=form)
    services.email_code_send(user=request.user, author=author, address=form.cleaned_data["address"])
    return _email_step_response(request, author)


@login_required
@require_POST
def claim_email_verify(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id)
    form = EmailCodeForm(request.POST)
    if ratelimit.limit_exceeded(request, action="claim_code_check"):
        return _email_step_response(
            request,
            author,
            status=429,
            code_form=form,
            email_error="Too many codes tried: wait a few minutes and try again.",
        )
    if not form.is_valid():
        return _email_step_response(
            request, author, status=400, code_form=form, email_error=form.errors["code"][0]
        )
    try:
        services.email_code_verify(user=request.user, author=author, code=form.cleaned_data["code"])
    except services.ClaimError as error:
        return _email_step_response(
            request, author, status=400, code_form=form, email_error=str(error)
        )
    return _email_step_response(request, author)


def _claim_page_context(claim: Claim) -> dict[str, Any]:
    works_mine, works_not_mine = selectors.claim_selected_works(claim=claim)
    return {
        "claim": claim,
        "author": claim.author,
        "queue_position": selectors.claim_queue_position(claim=claim),
        "queue_length": Claim.objects.filter(state=Claim.State.PENDING).count(),
        "median_decision": selectors.claim_median_decision_time(),
        "events": selectors.claim_events(claim=claim),
        "works_mine": works_mine,
        "works_not_mine": works_not_mine,
    }


@login_required
@require_safe
def claim_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's own claims and where each one stands (the header's "Your claims")."""
    claims = selectors.claims_for_user(user=request.user)
    return render(request, "profiles/claim_list.html", {"claims": claims})


@login_required
@require_safe
def claim_detail(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = _get_claim_for_user(request, claim_id)
    return render(request, "profiles/claim_detail.html", _claim_page_context(claim))


@login_required
@require_POST
def claim_withdraw(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = _get_claim_for_user(request, claim_id, as_claimant=True)
    try:
        claim = services.claim_withdraw(claim=claim, user=request.user)
    except services.ClaimError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "You withdrew your claim.")
    if request.htmx:
        claim.refresh_from_db()
        return render(request, "profiles/claim_detail.html#claim-state", _claim_page_context(claim))
    return redirect("profiles:claim_detail", claim_id=claim.pk)


# Claims: the owner's side


def _get_author_for_owner(request: AuthenticatedHttpRequest, author_id: int) -> Author:
    """The record whose approved claim is this user's; a 404 for everyone else, staff too."""
    author = _get_author_for_page(author_id)
    if not services.is_owner(user=request.user, author=author):
        raise Http404("Only the owner of this record edits it.")
    return author


@login_required
@require_safe
def followers(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """Who follows the owner's record; everyone else sees only the count on the page."""
    author = _get_author_for_owner(request, author_id)
    raw = request.GET.get("before")
    before = None
    if raw is not None:
        if not raw.isdigit() or len(raw) > 18:
            return HttpResponse(
                "“before” must be a follow id from a “Show more” link.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        before = int(raw)
    page = selectors.followers_page(author=author, before=before)
    context = {
        "author": author,
        "follows": page.follows,
        "next_before": page.next_before,
        "before": before,
        "total": Follow.objects.filter(author=author).count(),
    }
    return render(request, "profiles/followers.html", context)


OWNER_WORKS_PER_PAGE = 50


def _affiliation_form(data: Any = None) -> AffiliationForm:
    return AffiliationForm(data, this_year=timezone.localdate().year)


def _affiliations_context(author: Author, form: AffiliationForm | None = None) -> dict[str, Any]:
    return {
        "author": author,
        "affiliations": selectors.owner_affiliations(author=author),
        "affiliation_form": form or _affiliation_form(),
        "affiliation_lines_max": services.AFFILIATION_OWN_LINES_MAX,
    }


def _profile_edit_context(
    request: AuthenticatedHttpRequest,
    author: Author,
    form: ProfileSettingsForm,
    affiliation_form: AffiliationForm | None = None,
) -> dict[str, Any]:
    page, page_note = paging.page_with_note(
        Paginator(selectors.owner_works(author=author), OWNER_WORKS_PER_PAGE),
        request.GET.get("page"),
    )
    return {
        "author": author,
        "form": form,
        "works_page": page,
        "page_note": page_note,
        "not_mine": selectors.owner_works_not_mine(author=author),
        **_affiliations_context(author, affiliation_form),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile_edit(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_owner(request, author_id)
    current = ProfileSettings.objects.filter(author=author).first() or ProfileSettings(
        author=author, open_to_collaborate=author.open_to_collaborate
    )
    if request.method in ("GET", "HEAD"):
        form = ProfileSettingsForm(instance=current)
        return render(
            request, "profiles/profile_edit.html", _profile_edit_context(request, author, form)
        )
    form = ProfileSettingsForm(request.POST, instance=current)
    if not form.is_valid():
        return render(
            request,
            "profiles/profile_edit.html",
            _profile_edit_context(request, author, form),
            status=400,
        )
    services.profile_settings_update(
        user=request.user,
        author=author,
        summary=form.cleaned_data["summary"],
        affiliation=form.cleaned_data["affiliation"],
        homepage=form.cleaned_data["homepage"],
        contact=form.cleaned_data["contact"],
        open_to_collaborate=form.cleaned_data["open_to_collaborate"],
        invitations_from=form.cleaned_data["invitations_from"],
        hidden_sections=form.cleaned_data["hidden_sections"],
    )
    messages.success(request, "Your profile is saved.")
    return redirect("profiles:researcher_detail", author_id=author.pk)


# Missing works: the owner adds what no import found. The confirmation carries
# the fetched works signed (django.core.signing, for this owner and record, an
# hour): confirming re-reads nothing from Crossref or arXiv, and a changed
# payload is refused; what each work matches is worked out again on confirm.

MISSING_WORKS_MAX_AGE = 3600


def _missing_works_salt(request: AuthenticatedHttpRequest, author: Author) -> str:
    return f"profiles.missing-works:{request.user.pk}:{author.pk}"


def _missing_works_render(
    request: AuthenticatedHttpRequest,
    author: Author,
    form: MissingWorkForm,
    *,
    status: int = 200,
    plan: list[services.PlannedWork] | None = None,
    payload: str = "",
    error: str = "",
) -> HttpResponse:
    context = {"author": author, "form": form, "plan": plan, "payload": payload, "error": error}
    if plan is not None:
        context["adding"] = sum(
            p.outcome in (services.MissingWorkOutcome.NEW, services.MissingWorkOutcome.LINK)
            for p in plan
        )
    return render(request, "profiles/work_add.html", context, status=status)


def _missing_work_candidates(form: MissingWorkForm) -> list[candidates.Candidate]:
    kind = form.cleaned_data["kind"]
    if kind == "doi":
        return [candidates.from_doi(form.cleaned_data["doi"].strip())]
    if kind == "arxiv":
        return [candidates.from_arxiv(form.cleaned_data["arxiv_id"].strip())]
    return candidates.from_bibtex(form.cleaned_data["bibtex_text"])


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def work_add(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """The owner gives a DOI, an arXiv id or BibTeX and sees what adding it would do."""
    author = _get_author_for_owner(request, author_id)
    if request.method in ("GET", "HEAD"):
        return _missing_works_render(request, author, MissingWorkForm())
    form = MissingWorkForm(request.POST, request.FILES)
    if ratelimit.limit_exceeded(request, action="missing_work_fetch"):
        form.is_valid()
        form.add_error(None, "Too many works looked up: wait a few minutes and try again.")
        return _missing_works_render(request, author, form, status=429)
    if not form.is_valid():
        return _missing_works_render(request, author, form, status=400)
    try:
        found = _missing_work_candidates(form)
    except candidates.SourceUnavailable as error:
        form.add_error(None, f"{error} Try again in a few minutes.")
        return _missing_works_render(request, author, form, status=503)
    except candidates.CandidateError as error:
        form.add_error(None, str(error))
        return _missing_works_render(request, author, form, status=400)
    plan = services.missing_works_plan(author=author, incoming=found)
    payload = signing.dumps(
        [c.as_dict() for c in found], salt=_missing_works_salt(request, author), compress=True
    )
    return _missing_works_render(request, author, form, plan=plan, payload=payload)


@login_required
@require_POST
def work_add_confirm(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_owner(request, author_id)
    try:
        data = signing.loads(
            request.POST.get("payload", ""),
            salt=_missing_works_salt(request, author),
            max_age=MISSING_WORKS_MAX_AGE,
        )
        found = [candidates.Candidate.from_dict(item) for item in data]
    except (signing.BadSignature, TypeError, ValueError):
        return _missing_works_render(
            request,
            author,
            MissingWorkForm(),
            status=400,
            error="That confirmation is too old or was changed: give the work again. "
            "Nothing was added.",
        )
    try:
        plan = services.missing_works_add(user=request.user, author=author, incoming=found)
    except IntegrityError:
        return _missing_works_render(
            request,
            author,
            MissingWorkForm(),
            status=409,
            error="One of these works was added at the same time by someone else: "
            "give them again. Nothing was added.",
        )
    added = sum(
        p.outcome in (services.MissingWorkOutcome.NEW, services.MissingWorkOutcome.LINK)
        for p in plan
    )
    if added:
        messages.success(request, f"{added} work{'s' if added != 1 else ''} added to your record.")
    else:
        messages.info(request, "Nothing to add: every work is on your record already.")
    return redirect("profiles:researcher_detail", author_id=author.pk)


@login_required
@require_POST
def authorship_status(
    request: AuthenticatedHttpRequest, author_id: int, work_id: int
) -> HttpResponse:
    author = _get_author_for_owner(request, author_id)
    form = AuthorshipStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say whether the work is yours or not.", status=400)
    try:
        authorship = services.authorship_set_status(
            user=request.user, author=author, work_id=work_id, status=form.cleaned_data["status"]
        )
    except services.ClaimError as error:
        raise Http404(str(error)) from error
    if request.htmx:
        # The row, and the list of works marked not theirs, which the change may enter or leave.
        return render(
            request,
            "profiles/profile_edit.html#work-row-response",
            {
                "author": author,
                "authorship": authorship,
                "not_mine": selectors.owner_works_not_mine(author=author),
            },
        )
    return redirect(reverse("profiles:profile_edit", args=[author.pk]) + f"#work-{work_id}")


def _affiliations_response(
    request: AuthenticatedHttpRequest,
    author: Author,
    *,
    done: str = "",
    form: AffiliationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The owner's history editor after a change: the section for htmx, else the edit page."""
    if request.htmx:
        context = {**_affiliations_context(author, form), "done": done}
        return render(request, "profiles/profile_edit.html#affiliations", context, status=status)
    if status >= 400:
        current = ProfileSettings.objects.filter(author=author).first() or ProfileSettings(
            author=author, open_to_collaborate=author.open_to_collaborate
        )
        context = _profile_edit_context(
            request, author, ProfileSettingsForm(instance=current), form
        )
        return render(request, "profiles/profile_edit.html", context, status=status)
    messages.success(request, done)
    return redirect(reverse("profiles:profile_edit", args=[author.pk]) + "#affiliations")


@login_required
@require_POST
def affiliation_add(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_owner(request, author_id)
    form = _affiliation_form(request.POST)
    if form.is_valid():
        try:
            services.affiliation_add(
                user=request.user,
                author=author,
                institution_name=form.cleaned_data["institution_name"],
                from_year=form.cleaned_data["from_year"],
                to_year=form.cleaned_data["to_year"],
            )
        except services.AffiliationError as error:
            form.add_error(None, str(error))
    if not form.is_valid():
        return _affiliations_response(request, author, form=form, status=400)
    name = form.cleaned_data["institution_name"].strip()
    return _affiliations_response(request, author, done=f"Added {name} to your history.")


@login_required
@require_POST
def affiliation_remove(
    request: AuthenticatedHttpRequest, author_id: int, affiliation_id: int
) -> HttpResponse:
    author = _get_author_for_owner(request, author_id)
    try:
        services.affiliation_remove(user=request.user, author=author, affiliation_id=affiliation_id)
    except services.AffiliationError as error:
        raise Http404(str(error)) from error
    return _affiliations_response(request, author, done="Removed the line from your history.")


@login_required
@require_POST
def affiliation_hidden(
    request: AuthenticatedHttpRequest, author_id: int, affiliation_id: int
) -> HttpResponse:
    author = _get_author_for_owner(request, author_id)
    form = AffiliationHiddenForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say whether to hide or show the line.", status=400)
    hide = form.cleaned_data["action"] == AffiliationHiddenForm.HIDE
    try:
        services.affiliation_set_hidden(
            user=request.user, author=author, affiliation_id=affiliation_id, hidden=hide
        )
    except services.AffiliationError as error:
        raise Http404(str(error)) from error
    done = "Hidden from your page." if hide else "Shown on your page again."
    return _affiliations_response(request, author, done=done)


# Claims: the staff side. Everyone but staff gets a 404, so the queue's
# existence is not advertised (no 403, no log-in redirect); staff without a
# second factor in this session get a page saying how to add one
# (bzpeer.staff.require_staff, the admin's check too).


def _get_claim_for_staff(request: HttpRequest, claim_id: int) -> Claim:
    staff.require_staff(request)
    return get_object_or_404(
        Claim.objects.select_related("author", "claimant", "email_institution", "decided_by"),
        pk=claim_id,
    )


STAFF_CLAIMS_PER_PAGE = 25


def _queue_filters(form: QueueFilterForm) -> selectors.QueueFilters:
    data = form.cleaned_data if form.is_valid() else {"state": Claim.State.PENDING}
    yes_no = {"yes": True, "no": False, "passed": True, "failed": False}
    return selectors.QueueFilters(
        state=data.get("state", ""),
        contested=yes_no.get(data.get("contested", "")),
        checks_passed=yes_no.get(data.get("checks", "")),
    )


@require_safe
@vary_on_headers("HX-Request")
def staff_claims(request: HtmxHttpRequest) -> HttpResponse:
    reviewer = staff.require_staff(request)
    data = request.GET.copy()
    data.setdefault("state", Claim.State.PENDING)  # the queue opens on what waits for a decision
    form = QueueFilterForm(data)
    claims = selectors.staff_claim_queue(filters=_queue_filters(form))
    page, page_note = paging.page_with_note(
        Paginator(claims, STAFF_CLAIMS_PER_PAGE), request.GET.get("page")
    )
    conflicts = selectors.claim_review_conflicts(claims=page, reviewer=reviewer)
    template = "staff/claims.html"
    if request.htmx:
        template += "#queue"
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "page_note": page_note,
            "rows": [(claim, conflicts.get(claim.pk)) for claim in page],
            "query": query.urlencode(),
            "median_decision": selectors.claim_median_decision_time(),
        },
    )


@require_safe
def staff_claim_detail(request: HtmxHttpRequest, claim_id: int) -> HttpResponse:
    claim = _get_claim_for_staff(request, claim_id)
    return render(request, "staff/claim_detail.html", _staff_claim_context(request, claim))


def _staff_claim_context(
    request: HttpRequest, claim: Claim, **forms: DecisionForm
) -> dict[str, Any]:
    return {
        **_claim_page_context(claim),
        # Why this reviewer must leave the claim to another: no decision buttons then.
        "review_conflict": selectors.claim_review_conflict(
            claim=claim, reviewer=staff.require_staff(request)
        ),
        "other_claims": Claim.objects.filter(author=claim.author_id)
        .exclude(pk=claim.pk)
        .select_related("claimant")
        .order_by("created_at"),
        "approve_form": forms.get("approve") or DecisionForm(reason_required=False),
        "reject_form": forms.get("reject") or DecisionForm(reason_required=True),
        "revoke_form": forms.get("revoke") or DecisionForm(reason_required=True),
    }


DECISIONS: dict[str, tuple[Callable[..., Claim], bool, str]] = {
    "approve": (services.claim_approve, False, "approved"),
    "reject": (services.claim_reject, True, "rejected"),
    "revoke": (services.claim_revoke, True, "revoked"),
}


@require_POST
def staff_claim_decide(
    request: AuthenticatedHttpRequest, claim_id: int, decision: str
) -> HttpResponse:
    claim = _get_claim_for_staff(request, claim_id)
    if decision not in DECISIONS:
        raise Http404("No such decision.")
    service, reason_required, done = DECISIONS[decision]
    form = DecisionForm(request.POST, reason_required=reason_required)
    status = 200
    if not form.is_valid():
        status = 400
        messages.error(request, str(form.errors["reason"][0]))
    else:
        try:
            service(claim=claim, staff=request.user, reason=form.cleaned_data["reason"])
        except services.ClaimConflict as error:
            status = 403
            messages.error(request, str(error))
        except services.ClaimError as error:
            status = 409
            messages.error(request, str(error))
        else:
            messages.success(request, f"Claim {claim.pk} {done}.")
            form = DecisionForm(reason_required=reason_required)
    if request.htmx:
        claim.refresh_from_db()
        return render(
            request,
            "staff/claim_detail.html#decision",
            _staff_claim_context(request, claim, **{decision: form}),
            status=status,
        )
    if status != 200:
        claim.refresh_from_db()
        return render(
            request,
            "staff/claim_detail.html",
            _staff_claim_context(request, claim, **{decision: form}),
            status=status,
        )
    return redirect("profiles:staff_claim_detail", claim_id=claim.pk)
