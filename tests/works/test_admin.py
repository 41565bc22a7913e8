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
