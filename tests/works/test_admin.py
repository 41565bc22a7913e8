import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import AuthorshipFactory, InstitutionFactory, TopicFactory
from tests.mfa import force_login_with_totp

pytestmark = pytest.mark.django_db

MODELS = ["institution", "topic", "source", "author", "work", "authorship"]


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(
        "root", "root@example.org", "pw-long-enough-1"
    )
    force_login_with_totp(client, admin)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_admin_changelist_searches_and_filters(staff_client, model):
    AuthorshipFactory()
    InstitutionFactory()
    TopicFactory()
    url = reverse(f"admin:works_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "a"}).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_admin_is_closed_to_anonymous_visitors(client, model):
    response = client.get(reverse(f"admin:works_{model}_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_work_change_page_shows_its_authorships(staff_client):
    authorship = AuthorshipFactory()
    response = staff_client.get(reverse("admin:works_work_change", args=[authorship.work_id]))
    assert response.status_code == 200
    assert authorship.author.display_name in response.content.decode()


def _institution_form(institution, domains: str) -> dict[str, str]:
    return {
        "display_name": institution.display_name,
        "openalex_id": institution.openalex_id,
        "ror": institution.ror,
        "country_code": institution.country_code,
        "type": institution.type,
        "email_domains": domains,
    }


def test_staff_correct_an_institutions_email_domains_in_the_admin(staff_client):
    institution = InstitutionFactory(email_domains=["gmail.com"])
    url = reverse("admin:works_institution_change", args=[institution.pk])

    response = staff_client.post(url, _institution_form(institution, "umich.edu, Med.UMich.edu"))

    assert response.status_code == 302
    institution.refresh_from_db()
    assert institution.email_domains == ["umich.edu", "med.umich.edu"]


def test_the_admin_refuses_free_mail_and_malformed_domains_with_a_message(staff_client):
    institution = InstitutionFactory(email_domains=["umich.edu"])
    url = reverse("admin:works_institution_change", args=[institution.pk])
    for domains, message in (
        ("umich.edu,gmail.com", "gmail.com is a free-mail or shared host"),
        ("umich.edu,not a domain", "is not a domain"),
    ):
        response = staff_client.post(url, _institution_form(institution, domains))
        assert response.status_code == 200
        assert message in response.content.decode()
        institution.refresh_from_db()
        assert institution.email_domains == ["umich.edu"]


def test_a_domain_staff_removed_stays_removed_when_the_institution_is_imported_again(
    staff_client,
):
    from pathlib import Path

    from works.importers import import_paths
    from works.models import Institution

    fixture = Path(__file__).parent / "fixtures" / "openalex" / "I900000001.json"
    import_paths([fixture])
    institution = Institution.objects.get(openalex_id="I900000001")
    assert institution.email_domains == ["testing.example.edu"]
    url = reverse("admin:works_institution_change", args=[institution.pk])

    staff_client.post(url, _institution_form(institution, "mail.testing.example"))
    import_paths([fixture])
    institution.refresh_from_db()
    assert institution.email_domains == ["mail.testing.example"]

    # Typing it back in undoes the removal; the one taken out now is remembered instead.
    staff_client.post(url, _institution_form(institution, "testing.example.edu"))
    institution.refresh_from_db()
    assert institution.email_domains == ["testing.example.edu"]
    assert institution.email_domains_refused == ["mail.testing.example"]
