from django.urls import path

from works import views

app_name = "works"

urlpatterns = [
    path("works/<int:work_id>/", views.work_detail, name="work_detail"),
]
