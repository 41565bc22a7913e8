from django.urls import path

from profiles import duplicate_views, orcid_import_views, views

app_name = "profiles"

urlpatterns = [
    path("researchers/<int:author_id>/", views.researcher_detail, name="researcher_detail"),
    path(
        "researchers/<int:author_id>/export.<str:extension>",
        views.researcher_export,
        name="researcher_export",
    ),
    path("researchers/<int:author_id>/follow/", views.follow, name="follow"),
    path("researchers/<int:author_id>/claim/", views.claim_start, name="claim_start"),
    path(
        "researchers/<int:author_id>/claim/email/", views.claim_email_send, name="claim_email_send"
    ),
    path(
        "researchers/<int:author_id>/claim/email/verify/",
        views.claim_email_verify,
        name="claim_email_verify",
    ),
    path("researchers/<int:author_id>/profile/", views.profile_edit, name="profile_edit"),
    path("researchers/<int:author_id>/followers/", views.followers, name="followers"),
    path("researchers/<int:author_id>/coauthors/", views.coauthors, name="coauthors"),
    path(
        "researchers/<int:author_id>/profile/affiliations/",
        views.affiliation_add,
        name="affiliation_add",
    ),
    path(
        "researchers/<int:author_id>/profile/affiliations/<int:affiliation_id>/remove/",
        views.affiliation_remove,
        name="affiliation_remove",
    ),
    path(
        "researchers/<int:author_id>/profile/affiliations/<int:affiliation_id>/hidden/",
        views.affiliation_hidden,
        name="affiliation_hidden",
    ),
    path("researchers/<int:author_id>/works/add/", views.work_add, name="work_add"),
    path(
        "researchers/<int:author_id>/works/mine/",
        duplicate_views.work_mine_request,
        name="work_mine_request",
    ),
    path(
        "researchers/<int:author_id>/works/add/confirm/",
        views.work_add_confirm,
        name="work_add_confirm",
    ),
    path(
        "researchers/<int:author_id>/works/<int:work_id>/status/",
        views.authorship_status,
        name="authorship_status",
    ),
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim_detail"),
    path("claims/<int:claim_id>/withdraw/", views.claim_withdraw, name="claim_withdraw"),
    path("staff/claims/", views.staff_claims, name="staff_claims"),
    path("staff/claims/<int:claim_id>/", views.staff_claim_detail, name="staff_claim_detail"),
    path(
        "staff/claims/<int:claim_id>/<str:decision>/",
        views.staff_claim_decide,
        name="staff_claim_decide",
    ),
    path("staff/merges/", duplicate_views.staff_merges, name="staff_merges"),
    path(
        "staff/merges/<int:suggestion_id>/",
        duplicate_views.staff_merge_detail,
        name="staff_merge_detail",
    ),
    path(
        "staff/merges/<int:suggestion_id>/dismiss/",
        duplicate_views.staff_merge_dismiss,
        name="staff_merge_dismiss",
    ),
    path(
        "staff/merges/<int:suggestion_id>/merge/",
        duplicate_views.staff_merge_do,
        name="staff_merge_do",
    ),
    path("staff/merges/operations/", duplicate_views.staff_operations, name="staff_operations"),
    path(
        "staff/merges/operations/<int:operation_id>/undo/",
        duplicate_views.staff_operation_undo,
        name="staff_operation_undo",
    ),
    path(
        "staff/merges/records/<int:author_id>/split/",
        duplicate_views.staff_split,
        name="staff_split",
    ),
    path(
        "staff/merges/split-requests/<int:request_id>/dismiss/",
        duplicate_views.staff_split_request_dismiss,
        name="staff_split_request_dismiss",
    ),
    path(
        "researchers/<int:author_id>/profile/split/",
        duplicate_views.split_request,
        name="split_request",
    ),
    path(
        "researchers/<int:author_id>/profile/also-me/",
        duplicate_views.duplicate_request,
        name="duplicate_request",
    ),
    path(
        "researchers/<int:author_id>/orcid-import/",
        orcid_import_views.orcid_import,
        name="orcid_import",
    ),
    path("following/", views.following, name="following"),
    path("following/<int:author_id>/settings/", views.follow_settings, name="follow_settings"),
]
