from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from works import selectors


@require_GET
def researcher_detail(request: HttpRequest, author_id: int) -> HttpResponse:
    author = selectors.author_get_for_page(author_id=author_id)
    if author.merged_into_id:
        return redirect("profiles:researcher_detail", author_id=author.merged_into_id, permanent=True)
    works = selectors.author_works(author_id=author.pk, limit=50)
    return render(request, "profiles/researcher_detail.html", {"author": author, "works": works})
