from django.contrib import admin
from django.urls import include, path

from bzpeer import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("works.urls")),
    path("", include("profiles.urls")),
    path("", include("profiles.collaboration.urls")),
    path("", include("profiles.collaboration.safety_urls")),
    path("", include("graph.urls")),
    path("", include("bzpeer.outbox.urls")),
]

handler500 = "bzpeer.views.server_error"
