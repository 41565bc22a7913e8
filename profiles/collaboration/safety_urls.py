from django.urls import path

from profiles.collaboration import safety_views

app_name = "safety"

urlpatterns = [
    path("inbox/block/<int:invitation_id>/", safety_views.block, name="block"),
    path("inbox/report/<int:invitation_id>/", safety_views.report, name="report"),
    path("inbox/blocked/", safety_views.blocked_list, name="blocked"),
    path("inbox/blocked/<int:blocked_user_id>/unblock/", safety_views.unblock, name="unblock"),
    path("staff/reports/", safety_views.staff_reports, name="staff_reports"),
    path(
        "staff/reports/<int:report_id>/",
        safety_views.staff_report_detail,
        name="staff_report_detail",
    ),
    path(
        "staff/reports/<int:report_id>/decide/",
        safety_views.staff_report_decide,
        name="staff_report_decide",
    ),
    path(
        "staff/reports/<int:report_id>/lift-suspension/",
        safety_views.staff_suspension_lift,
        name="staff_suspension_lift",
    ),
]
