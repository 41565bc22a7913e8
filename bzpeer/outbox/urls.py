from django.urls import path

from bzpeer.outbox import views

app_name = "outbox"

urlpatterns = [
    path("email/stop/<str:token>/", views.email_stop, name="email_stop"),
]
