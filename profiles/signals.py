"""Receivers: finish a follow begun before logging in; retire cached pages of changed records."""

from typing import Any

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.contrib import messages
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from bzpeer import pagecache
from profiles import services
from profiles.models import ProfileSettings
from works.models import Author, Authorship, Work
from works.signals import affiliations_changed, authors_changed, works_created

# The wish rides in a signed cookie, not the session: a follow link is a GET
# that anyone (or any crawler) can load, and each one used to write a session
# row. The cookie holds the researcher's id and when it was signed.
PENDING_FOLLOW_COOKIE = "pending_follow"
PENDING_FOLLOW_SALT = "profiles.pending_follow"
# The anonymous page's follow button is a GET (the shared page holds no CSRF
# token), so another site could plant the wish too. It is named on the log-in
# and sign-up pages the visitor passes through, and it lapses: a log-in long
# after the click follows no one.
PENDING_FOLLOW_SECONDS = 30 * 60


def pending_follow_keep(response: HttpResponse, author: Author) -> None:
    response.set_signed_cookie(
        PENDING_FOLLOW_COOKIE,
        str(author.pk),
        salt=PENDING_FOLLOW_SALT,
        max_age=PENDING_FOLLOW_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def pending_follow(request: HttpRequest) -> Author | None:
    """The researcher an anonymous visitor asked to follow, while the wish is fresh."""
    value = request.get_signed_cookie(
        PENDING_FOLLOW_COOKIE,
        default=None,
        salt=PENDING_FOLLOW_SALT,
        max_age=PENDING_FOLLOW_SECONDS,
    )
    if value is None or not value.isdigit():
        return None
    return Author.objects.filter(pk=int(value)).first()


@receiver(user_logged_in)
def complete_pending_follow(
    sender: Any,
    request: HttpRequest,
    user: Any,
    response: HttpResponse | None = None,
    **kwargs: Any,
) -> None:
    if PENDING_FOLLOW_COOKIE not in request.COOKIES:
        return
    # Used or lapsed, the wish goes: logging out and in again follows no one.
    if response is not None:
        response.delete_cookie(PENDING_FOLLOW_COOKIE, samesite="Lax")
    author = pending_follow(request)
    if author is None:
        return
    services.follow_set(user=user, author=author, following=True)
    messages.success(request, f"You now follow {author.display_name}.")


@receiver(works_created)
def record_new_works(sender: Any, work_ids: list[int], **kwargs: Any) -> None:
    # In the import batch's transaction: the events commit with the works.
    services.events_record_new_works(work_ids=work_ids)


@receiver(affiliations_changed)
def record_affiliation_changes(
    sender: Any, changes: list[tuple[int, int | None, int | None]], **kwargs: Any
) -> None:
    # In the import batch's transaction, like the new works' events.
    services.events_record_affiliations(changes=changes)


@receiver(authors_changed)
def retire_pages_of_imported_authors(sender: Any, author_ids: list[int], **kwargs: Any) -> None:
    pagecache.author_pages_changed(author_ids=author_ids)


# Records saved one row at a time (the admin, the shell, the demo data): the
# page shows an author's name on their co-authors' pages too (close
# collaborators), and a work on every one of its authors' pages.


def _coauthor_ids(author_id: int) -> list[int]:
    return list(
        Authorship.objects.filter(work__authorships__author_id=author_id)
        .values_list("author_id", flat=True)
        .distinct()
    )


def _work_author_ids(work_id: int) -> list[int]:
    return list(Authorship.objects.filter(work_id=work_id).values_list("author_id", flat=True))


@receiver(post_save, sender=Author)
@receiver(post_delete, sender=Author)
def retire_pages_of_author(sender: Any, instance: Author, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    # A new record is on nobody else's page yet; a merged one now redirects.
    shown_by = [] if kwargs.get("created") else _coauthor_ids(instance.pk)
    pagecache.author_pages_changed(author_ids=[instance.pk, *shown_by])


@receiver(post_save, sender=Work)
@receiver(post_delete, sender=Work)
def retire_pages_of_work(sender: Any, instance: Work, raw: bool = False, **kwargs: Any) -> None:
    if raw or kwargs.get("created"):
        return
    pagecache.author_pages_changed(author_ids=_work_author_ids(instance.pk))


@receiver(post_save, sender=Authorship)
@receiver(post_delete, sender=Authorship)
def retire_pages_of_authorship(
    sender: Any, instance: Authorship, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    # The co-authors' ties change with the team.
    pagecache.author_pages_changed(
        author_ids=[instance.author_id, *_work_author_ids(instance.work_id)]
    )


@receiver(post_save, sender=ProfileSettings)
@receiver(post_delete, sender=ProfileSettings)
def retire_pages_of_profile_settings(
    sender: Any, instance: ProfileSettings, raw: bool = False, **kwargs: Any
) -> None:
    if not raw:
        pagecache.author_pages_changed(author_ids=[instance.author_id])
