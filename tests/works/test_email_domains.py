"""Institutional email domains: never a free-mail or shared host (issue 11, finding 7)."""

import importlib
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from tests.factories import InstitutionFactory
from works import email_domains
from works.importers import import_paths
from works.models import Institution


@pytest.mark.parametrize(
    "homepage",
    [
        "https://www.gmail.com/",
        "http://gmail.com",
        "https://mail.yahoo.com/",
        "https://outlook.live.com/owa/",
        "https://www.qq.com",
        "https://www.163.com/",
        "https://sites.google.com/view/some-lab",
        "https://some-lab.github.io/",
        "https://somelab.wordpress.com/",
        "http://somelab.blogspot.com/",
    ],
)
def test_no_email_domain_is_derived_from_a_free_mail_or_shared_host(homepage):
    assert email_domains.from_homepage(homepage) == []


def test_an_institutions_own_host_is_its_email_domain():
    assert email_domains.from_homepage("https://www.umich.edu") == ["umich.edu"]
    assert email_domains.from_homepage("https://mila.quebec/en/") == ["mila.quebec"]


@pytest.mark.parametrize("domain", ["gmail.com", "GMAIL.COM", "mail.yahoo.com", "foo.github.io"])
def test_shared_domains_are_recognised_with_their_subdomains(domain):
    assert email_domains.is_shared(domain)


@pytest.mark.parametrize("domain", ["umich.edu", "uni.example", "nus.edu.sg", "mail.umich.edu"])
def test_institution_domains_are_not_shared(domain):
    assert not email_domains.is_shared(domain)


def test_clean_normalises_and_refuses_with_a_clear_message():
    assert email_domains.clean(" @Mail.UMich.EDU. ") == "mail.umich.edu"
    with pytest.raises(ValidationError, match=r"gmail\.com is a free-mail or shared host"):
        email_domains.clean("gmail.com")
    for bad in ("not a domain", "http://umich.edu/", "a@b.c", "umich", "-x.edu", ""):
        with pytest.raises(ValidationError, match="is not a domain"):
            email_domains.clean(bad)


@pytest.mark.django_db
@pytest.mark.shared_data
def test_a_real_openalex_institution_with_a_webmail_homepage_gets_no_email_domain(
    shared_data: Path, tmp_path: Path
):
    """The real University of Michigan record, as imported and with the webmail homepage
    that a real OpenAlex institution carries (https://www.gmail.com/)."""
    record = json.loads((shared_data / "openalex" / "entities" / "I27837315.json").read_text())
    import_paths([shared_data / "openalex" / "entities" / "I27837315.json"])
    assert Institution.objects.get(openalex_id="I27837315").email_domains == ["umich.edu"]
    Institution.objects.all().delete()

    record["homepage_url"] = "https://www.gmail.com/"
    path = tmp_path / "I27837315.json"
    path.write_text(json.dumps(record))
    stats = import_paths([path])

    assert stats.problems == []
    institution = Institution.objects.get(openalex_id="I27837315")
    assert institution.display_name == "University of Michigan"
    assert institution.email_domains == []


@pytest.mark.django_db
def test_the_data_migration_removes_shared_domains_already_stored():
    gmail = InstitutionFactory(email_domains=["gmail.com"])
    mixed = InstitutionFactory(email_domains=["umich.edu", "www.163.com", "lab.github.io"])
    clean = InstitutionFactory(email_domains=["mila.quebec"])
    migration = importlib.import_module("works.migrations.0004_institution_no_shared_mail_domains")

    migration.remove_shared_domains(apps, None)

    gmail.refresh_from_db(), mixed.refresh_from_db(), clean.refresh_from_db()
    assert (gmail.email_domains, mixed.email_domains, clean.email_domains) == (
        [],
        ["umich.edu"],
        ["mila.quebec"],
    )
