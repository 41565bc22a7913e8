"""The stop page behind every mail's one-click link (bzpeer.outbox.optout)."""

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from bzpeer.outbox import optout


# No CSRF token: the signed token in the URL is the authority, and a mail
# client's one-click POST (RFC 8058) carries no cookie. A forged POST can only
# stop mail for the person the link was made for, which is what the link does.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def email_stop(request: HttpRequest, token: str) -> HttpResponse:
    """GET: say what the link stops and ask to confirm (link scanners only GET). POST: stop it."""
    try:
        user_id, kind = optout.token_read(token)
    except optout.BadLink as error:
        return render(request, "outbox/email_stop.html", {"error": str(error)}, status=400)
    if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        return render(
            request,
            "outbox/email_stop.html",
            {"error": "This link belongs to an account that no longer exists."},
            status=404,
        )
    context = {"what": optout.KINDS[kind], "stopped": False}
    if request.method == "POST":
        optout.opt_out(user_id=user_id, kind=kind)
        context["stopped"] = True
    return render(request, "outbox/email_stop.html", context)
