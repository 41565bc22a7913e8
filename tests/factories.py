"""factory_boy factories for the bibliographic records."""

import factory

from works.models import Author, Authorship, Institution, Source, Topic, Work


class InstitutionFactory(factory.django.DjangoModelFactory[Institution]):
    class Meta:
        model = Institution

    display_name = factory.Sequence(lambda n: f"University {n}")
    ror = factory.Sequence(lambda n: f"0{n:06d}xx")
    country_code = "CA"
    email_domains = factory.LazyAttribute(lambda o: [f"u{o.ror}.example.edu"])


class TopicFactory(factory.django.DjangoModelFactory[Topic]):
    class Meta:
        model = Topic

    openalex_id = factory.Sequence(lambda n: f"T9{n:05d}")
    display_name = factory.Sequence(lambda n: f"Topic {n}")


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    display_name = "arXiv (Cornell University)"
    type = "repository"


class AuthorFactory(factory.django.DjangoModelFactory[Author]):
    class Meta:
        model = Author

    openalex_id = factory.Sequence(lambda n: f"A9{n:09d}")
    display_name = factory.Faker("name")


class WorkFactory(factory.django.DjangoModelFactory[Work]):
    class Meta:
        model = Work

    openalex_id = factory.Sequence(lambda n: f"W9{n:09d}")
    title = factory.Sequence(lambda n: f"A study of things, part {n}")
    type = "article"
    publication_year = 2020
    source = factory.SubFactory(SourceFactory)


class AuthorshipFactory(factory.django.DjangoModelFactory[Authorship]):
    class Meta:
        model = Authorship

    work = factory.SubFactory(WorkFactory)
    author = factory.SubFactory(AuthorFactory)
    position = 0
    raw_author_name = factory.LazyAttribute(lambda o: o.author.display_name)
