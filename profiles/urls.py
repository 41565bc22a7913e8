from django.urls import path

from profiles import views

app_name = "profiles"

urlpatterns = [
    path("researchers/<int:author_id>/", views.researcher_detail, name="researcher_detail"),
    path("researchers/<int:author_id>/follow/", views.follow, name="follow"),
    path("researchers/<int:author_id>/claim/", views.claim_start, name="claim_start"),
    path("following/", views.following, name="following"),
]
