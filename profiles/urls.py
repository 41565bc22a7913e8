from django.urls import path

from profiles import views

app_name = "profiles"

urlpatterns = [
    path("researchers/<int:author_id>/", views.researcher_detail, name="researcher_detail"),
]
