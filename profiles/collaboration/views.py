"""Invitations, the inbox and conversations.

Nobody but an invitation's two people reads it, and nobody but a
conversation's two members reads that: `_get_invitation_for_user` and
`_get_conversation_for_member` answer 404 to everyone else, staff included
(staff read what was reported, on the staff pages). The poll is the one read
that checks membership in its own SQL statement, so that it costs one query.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from bzpeer import ratelimit
from bzpeer.http import AuthenticatedHttpRequest
from profiles import selectors as profile_selectors
from profiles.collaboration import selectors, services
from profiles.collaboration.forms import DecisionForm, InvitationForm, MessageForm, PollForm
from profiles.collaboration.models import Invitation
from profiles.collaboration.templatetags.collaboration_text import person
from profiles.models import ProfileSettings
from works.models import Author

INVITE_TEMPLATE = "collaboration/invite.html"


def _too_many(request: HttpRequest, *, what: str) -> HttpResponse:
    return render(request, "collaboration/rate_limited.html", {"what": what}, status=429)


# The invitation form


def _invite_context(
    request: AuthenticatedHttpRequest, author: Author, form: InvitationForm | None = None
) -> dict[str, Any]:
    standing = selectors.standing_for(user=request.user)
    owner_id = selectors.record_owner_id(author=author)
    owner_settings = ProfileSettings.objects.filter(author=author).first()
    refusal = selectors.invite_refusal(
        user=request.user,
        owner_id=owner_id,
        openness=selectors.openness(author=author, owner_settings=owner_settings),
        standing=standing,
    )
    pending = (
        Invitation.objects.filter(
            sender=request.user,
            author=author,
            state=Invitation.State.PENDING,
            expires_at__gt=timezone.now(),
        ).first()
        if refusal is None
        else None
    )
    if form is None and refusal is None and pending is None:
        form = _invitation_form(author, standing)
    return {
        "author": author,
        "form": form,
        "refusal": refusal,
        "verify_email": refusal == selectors.NOT_VERIFIED,
        "pending": pending,
        "standing": standing,
    }


def _invitation_form(
    author: Author, standing: selectors.Standing, data: Any = None
) -> InvitationForm:
    return InvitationForm(
        data,
        recipient_works=selectors.works_offered(author_id=author.pk),
        sender_works=selectors.works_offered(author_id=standing.own_author_id),
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def invite(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    author = get_object_or_404(Author, pk=author_id)
    if author.merged_into_id:
        return redirect("collaboration:invite", author_id=author.merged_into_id)
    if request.method in ("GET", "HEAD"):
        context = _invite_context(request, author)
        status = 403 if context["refusal"] else 409 if context["pending"] else 200
        return render(request, INVITE_TEMPLATE, context, status=status)

    if ratelimit.limit_exceeded(request, action="invitation_send"):
        return _too_many(request, what="invitations")
    standing = selectors.standing_for(user=request.user)
    form = _invitation_form(author, standing, request.POST)
    if not form.is_valid():
        context = _invite_context(request, author, form)
        return render(request, INVITE_TEMPLATE, context, status=400)
    try:
        invitation = services.invitation_send(
            sender=request.user,
            author=author,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            recipient_works=form.cleaned_data.get("recipient_works", []),
            sender_works=form.cleaned_data.get("sender_works", []),
        )
    except services.CollaborationError as error:
        form.add_error(None, str(error))
        context = {**_invite_context(request, author, form), "form": form}
        return render(request, INVITE_TEMPLATE, context, status=error.status)
    messages.success(request, f"Your invitation to {author.display_name} is sent.")
    return redirect("collaboration:invitation_detail", invitation_id=invitation.pk)


# The inbox


@login_required
@require_safe
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    received = list(selectors.invitations_received(user=request.user))
    sent = list(selectors.invitations_sent(user=request.user))
    for invitation in (*received, *sent):
        invitation.shown_state = selectors.invitation_state(invitation, now=now)  # type: ignore[attr-defined]
    return render(
        request,
        "collaboration/inbox.html",
        {
            "received": received,
            "sent": sent,
            "conversations": selectors.conversations_for_user(user=request.user),
        },
    )


# One invitation


def _get_invitation_for_user(request: AuthenticatedHttpRequest, invitation_id: int) -> Invitation:
    """The invitation for its sender or its recipient (unless hidden from them); else a 404."""
    invitation = selectors.invitation_for_user(user=request.user, invitation_id=invitation_id)
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def _invitation_context(
    request: AuthenticatedHttpRequest, invitation: Invitation, form: DecisionForm | None = None
) -> dict[str, Any]:
    recipient_works, sender_works = selectors.invitation_works(invitation=invitation)
    is_recipient = invitation.recipient_id == request.user.pk
    sender_trust = None
    if is_recipient and invitation.sender_author is not None:
        record = invitation.sender_author
        counts = profile_selectors.work_counts(author=record)
        status = profile_selectors.claim_status(author=record, user=request.user, counts=counts)
        sender_trust = profile_selectors.trust_for_author(
            author=record, counts=counts, claim=status.facts
        )
    conversation = getattr(invitation, "conversation", None)
    return {
        "invitation": invitation,
        "state": selectors.invitation_state(invitation),
        "is_recipient": is_recipient,
        "sender_trust": sender_trust,
        "recipient_works": recipient_works,
        "sender_works": sender_works,
        "conversation": conversation,
        "other_user": invitation.sender if is_recipient else invitation.recipient,
        "decision_form": form or DecisionForm(),
    }


@login_required
@require_safe
def invitation_detail(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _get_invitation_for_user(request, invitation_id)
    services.invitation_mark_seen(invitation=invitation, user=request.user)
    return render(
        request, "collaboration/invitation_detail.html", _invitation_context(request, invitation)
    )


def _invitation_answer(
    request: AuthenticatedHttpRequest,
    invitation: Invitation,
    *,
    status: int,
    form: DecisionForm | None = None,
) -> HttpResponse:
    invitation.refresh_from_db()
    template = "collaboration/invitation_detail.html"
    if request.htmx:
        template += "#decision"
    return render(request, template, _invitation_context(request, invitation, form), status=status)


ANSWERS = {"accept": "recipient", "decline": "recipient", "withdraw": "sender"}


@login_required
@require_POST
def invitation_decide(
    request: AuthenticatedHttpRequest, invitation_id: int, answer: str
) -> HttpResponse:
    """accept / decline (the recipient, with an optional note) or withdraw (the sender)."""
    invitation = _get_invitation_for_user(request, invitation_id)
    if answer not in ANSWERS:
        raise Http404("No such answer.")
    if ANSWERS[answer] == "recipient" and invitation.recipient_id != request.user.pk:
        messages.error(request, f"Only the person invited can {answer} an invitation.")
        return _invitation_answer(request, invitation, status=403)
    if ANSWERS[answer] == "sender" and invitation.sender_id != request.user.pk:
        messages.error(request, "Only the person who sent an invitation can withdraw it.")
        return _invitation_answer(request, invitation, status=403)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["note"][0]))
        return _invitation_answer(request, invitation, status=400, form=form)
    note = form.cleaned_data["note"]
    try:
        if answer == "accept":
            conversation = services.invitation_accept(
                invitation=invitation, user=request.user, note=note
            )
            messages.success(request, "You accepted: the conversation is open.")
            return redirect("collaboration:conversation", conversation_id=conversation.pk)
        if answer == "decline":
            services.invitation_decline(invitation=invitation, user=request.user, note=note)
            messages.success(request, "You declined the invitation.")
        else:
            services.invitation_withdraw(invitation=invitation, user=request.user)
            messages.success(request, "You withdrew the invitation.")
    except services.CollaborationError as error:
        messages.error(request, str(error))
        return _invitation_answer(request, invitation, status=error.status, form=form)
    if request.htmx:
        return _invitation_answer(request, invitation, status=200)
    return redirect("collaboration:invitation_detail", invitation_id=invitation.pk)


# Conversations


def _get_conversation_for_member(
    request: AuthenticatedHttpRequest, conversation_id: int
) -> selectors.ConversationView:
    """The conversation and its two members for one of them; a 404 for everyone else."""
    view = selectors.conversation_for_member(user=request.user, conversation_id=conversation_id)
    if view is None:
        raise Http404("No such conversation.")
    return view


def _conversation_context(
    view: selectors.ConversationView, form: MessageForm | None = None
) -> dict[str, Any]:
    message_list = selectors.messages_latest(conversation=view.conversation)
    last_id = message_list[-1].pk if message_list else 0
    mine = [m.pk for m in message_list if m.sender_id == view.me.user_id]
    my_last_id = mine[-1] if mine else 0
    return {
        "view": view,
        "conversation": view.conversation,
        "invitation": view.invitation,
        "other_user": view.other.user,
        "other_name": person(view.other.user),
        "message_list": message_list,
        "last_id": last_id,
        "seen": _seen(
            last_id=last_id, my_last_id=my_last_id, other_read=view.other.last_read_message_id
        ),
        "other_read": view.other.last_read_message_id,
        "me_id": view.me.user_id,
        "form": form or MessageForm(),
    }


@login_required
@require_safe
def conversation(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    view = _get_conversation_for_member(request, conversation_id)
    services.conversation_read(member=view.me, conversation=view.conversation)
    return render(request, "collaboration/conversation.html", _conversation_context(view))


def _poll_response(
    request: AuthenticatedHttpRequest, conversation_id: int, *, after: int, read: int | None
) -> HttpResponse:
    poll = selectors.conversation_poll(
        user=request.user, conversation_id=conversation_id, after=after
    )
    if poll is None:
        raise Http404("No such conversation.")
    if not poll.messages and poll.other_read_id == read and not poll.closed:
        return HttpResponse(status=204)
    last_id = poll.messages[-1].id if poll.messages else after
    return render(
        request,
        "collaboration/conversation.html#poll-response",
        {
            "conversation_id": conversation_id,
            "new_messages": poll.messages,
            "last_id": last_id,
            "other_read": poll.other_read_id,
            "seen": _seen(
                last_id=last_id, my_last_id=poll.my_last_id, other_read=poll.other_read_id
            ),
            "closed": poll.closed,
            "me_id": request.user.pk,
            "other_name": poll.other_name,
        },
    )


def _seen(*, last_id: int, my_last_id: int, other_read: int) -> bool:
    """The read marker shows under the newest message when it is yours and the other read it."""
    return bool(my_last_id) and my_last_id == last_id and other_read >= my_last_id


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@vary_on_headers("HX-Request")
def conversation_messages(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    """GET ?after=<id>: what is new (the poll; 204 when nothing). POST: send a message."""
    if request.method in ("GET", "HEAD"):
        poll_form = PollForm({"after": "0", **request.GET.dict()})
        if not poll_form.is_valid():
            return HttpResponse(
                "Say after which message with a whole number: ?after=<id>.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return _poll_response(
            request,
            conversation_id,
            after=poll_form.cleaned_data["after"],
            read=poll_form.cleaned_data["read"],
        )

    view = _get_conversation_for_member(request, conversation_id)
    if ratelimit.limit_exceeded(request, action="message_send"):
        if request.htmx:
            form = MessageForm(request.POST)
            form.is_valid()
            form.add_error(None, "Too many messages sent: wait a few minutes and try again.")
            return _form_fragment(request, view, form, status=429)
        return _too_many(request, what="messages")
    form = MessageForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.message_post(
                conversation=view.conversation,
                sender=request.user,
                recipient=view.other.user,
                body=form.cleaned_data["body"],
            )
        except services.CollaborationError as error:
            form.add_error(None, str(error))
            status = error.status
        else:
            if request.htmx:
                # A fresh form; the page's poller fetches the message with any others.
                response = _form_fragment(request, view, MessageForm(), status=200)
                return trigger_client_event(response, "message-sent")
            return redirect(
                reverse("collaboration:conversation", args=[conversation_id]) + "#message-form"
            )
    if request.htmx:
        return _form_fragment(request, view, form, status=status)
    view.conversation.refresh_from_db()
    return render(
        request,
        "collaboration/conversation.html",
        _conversation_context(view, form),
        status=status,
    )


def _form_fragment(
    request: AuthenticatedHttpRequest,
    view: selectors.ConversationView,
    form: MessageForm,
    *,
    status: int,
) -> HttpResponse:
    return render(
        request,
        "collaboration/conversation.html#message-form",
        {"conversation": view.conversation, "form": form},
        status=status,
    )


@login_required
@require_POST
def conversation_close(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    view = _get_conversation_for_member(request, conversation_id)
    try:
        services.conversation_close(conversation=view.conversation, user=request.user)
    except services.CollaborationError as error:
        messages.error(request, str(error))
        view.conversation.refresh_from_db()
        return render(
            request,
            "collaboration/conversation.html",
            _conversation_context(view),
            status=error.status,
        )
    messages.success(request, "You closed the conversation.")
    return redirect("collaboration:conversation", conversation_id=conversation_id)
