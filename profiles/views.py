import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from bzpeer.http import AuthenticatedHttpRequest, HtmxHttpRequest
from profiles import selectors, services
from profiles.forms import FollowForm
from profiles.models import Follow
from profiles.signals import PENDING_FOLLOW_SESSION_KEY
from works.models import Author


def _get_author_for_page(author_id: int) -> Author:
    return get_object_or_404(Author.objects.select_related("last_known_institution"), pk=author_id)


_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _person_json_ld(
    author: Author, *, url: str, summary: str, topics: list[selectors.TopicCount]
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
    same_as = []
    if author.orcid:
        same_as.append(f"https://orcid.org/{author.orcid}")
    if author.openalex_id and not author.is_synthetic:
        same_as.append(f"https://openalex.org/{author.openalex_id}")
    if same_as:
        data["sameAs"] = same_as
    if author.name_variants:
        data["alternateName"] = author.name_variants
    if topics:
        data["knowsAbout"] = [t.topic.display_name for t in topics[: selectors.TOPICS_SHOWN]]
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES))


def _page_number(request: HttpRequest) -> int:
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError as exc:
        raise Http404("Page numbers are whole numbers from 1.") from exc
    if page < 1:
        raise Http404("Page numbers are whole numbers from 1.")
    return page


@require_GET
@vary_on_headers("HX-Request")
def researcher_detail(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id)
    if author.merged_into_id:
        return redirect(
            "profiles:researcher_detail", author_id=author.merged_into_id, permanent=True
        )
    page = _page_number(request)
    counts = selectors.work_counts(author=author)
    works = selectors.works_page(author=author, page=page, total=counts.total)
    if page > 1 and not works:
        raise Http404("That page of works does not exist.")
    has_more = page * selectors.WORKS_PER_PAGE < counts.total
    template = "profiles/researcher_detail.html"
    context: dict[str, object] = {
        "author": author,
        "works": works,
        "page": page,
        "next_page": page + 1 if has_more else None,
        "counts": counts,
    }
    if request.htmx and page > 1:
        return render(request, template + "#works-page", context)

    topics = selectors.topic_counts(author=author)
    collaborators, collaborator_total = selectors.close_collaborators(author=author)
    followers, is_following = selectors.follower_state(author=author, user=request.user)
    context.update(
        topics=topics[: selectors.TOPICS_SHOWN],
        topic_total=len(topics),
        collaborators=collaborators,
        collaborator_total=collaborator_total,
        collaborator_threshold=selectors.CLOSE_COLLABORATOR_MIN_STRENGTH,
        followers=followers,
        is_following=is_following,
        summary=selectors.summary_line(author=author, topics=topics),
        trust=selectors.trust_for_author(author=author, counts=counts),
    )
    context["canonical_url"] = request.build_absolute_uri(
        reverse("profiles:researcher_detail", args=[author.pk])
    )
    context["person_json_ld"] = _person_json_ld(
        author, url=str(context["canonical_url"]), summary=str(context["summary"]), topics=topics
    )
    return render(request, template, context)


@require_POST
def follow(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id)
    page_url = reverse("profiles:researcher_detail", args=[author.pk])
    form = FollowForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say whether to follow or unfollow.", status=400)
    if not request.user.is_authenticated:
        # Remembered across log-in (the session survives it); see profiles.signals.
        if form.cleaned_data["action"] == FollowForm.FOLLOW:
            request.session[PENDING_FOLLOW_SESSION_KEY] = author.pk
        login_url = f"{reverse('account_login')}?next={page_url}"
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)
    services.follow_set(
        user=request.user, author=author, following=form.cleaned_data["action"] == FollowForm.FOLLOW
    )
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


@login_required
@require_GET
def claim_start(request: HttpRequest, author_id: int) -> HttpResponse:
    author = _get_author_for_page(author_id)
    return render(request, "profiles/claim_not_open.html", {"author": author})


@login_required
@require_GET
def following(request: AuthenticatedHttpRequest) -> HttpResponse:
    follows = (
        Follow.objects.filter(user=request.user)
        .select_related("author", "author__last_known_institution")
        .order_by("author__display_name")
    )
    return render(request, "profiles/following.html", {"follows": follows})
