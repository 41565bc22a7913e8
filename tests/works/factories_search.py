"""Factories the search and entity-page tests need beyond tests/factories.py."""

import factory

from tests.factories import TopicFactory, WorkFactory
from works.models import WorkTopic


class WorkTopicFactory(factory.django.DjangoModelFactory[WorkTopic]):
    class Meta:
        model = WorkTopic

    work = factory.SubFactory(WorkFactory)
    topic = factory.SubFactory(TopicFactory)
    score = 0.9
    is_primary = True
