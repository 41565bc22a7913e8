from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from works import selectors


@require_GET
def work_detail(request: HttpRequest, work_id: int) -> HttpResponse:
    work = selectors.work_get_for_page(work_id=work_id)
    return render(request, "works/work_detail.html", {"work": work})
