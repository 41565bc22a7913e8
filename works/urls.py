from django.urls import path

from works import views

app_name = "works"

urlpatterns = [
    path("works/<int:work_id>/", views.work_detail, name="work_detail"),
    path("works/<int:work_id>/cite/", views.work_cite, name="work_cite"),
    path("works/<int:work_id>/export.<str:extension>", views.work_export, name="work_export"),
    path("researchers/", views.researcher_search, name="researcher_search"),
    path("topics/<int:topic_id>/", views.topic_detail, name="topic_detail"),
    path("institutions/<int:institution_id>/", views.institution_detail, name="institution_detail"),
]
