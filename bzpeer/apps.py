from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """The Django admin, behind the same staff check as /staff/ (bzpeer.staff)."""

    default_site = "bzpeer.staff.StaffAdminSite"
