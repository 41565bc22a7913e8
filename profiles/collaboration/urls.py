from django.urls import path

from profiles.collaboration import views

app_name = "collaboration"

urlpatterns = [
    path("researchers/<int:author_id>/invite/", views.invite, name="invite"),
    path("inbox/", views.inbox, name="inbox"),
    path(
        "inbox/invitations/<int:invitation_id>/",
        views.invitation_detail,
        name="invitation_detail",
    ),
    path(
        "inbox/invitations/<int:invitation_id>/<str:answer>/",
        views.invitation_decide,
        name="invitation_decide",
    ),
    path("inbox/<int:conversation_id>/", views.conversation, name="conversation"),
    path(
        "inbox/<int:conversation_id>/messages/",
        views.conversation_messages,
        name="conversation_messages",
    ),
    path(
        "inbox/<int:conversation_id>/close/",
        views.conversation_close,
        name="conversation_close",
    ),
]
