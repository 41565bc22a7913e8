"""Writes for profiles: following researchers."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from profiles.models import Follow
from works.models import Author


@transaction.atomic
def follow_set(*, user: AbstractBaseUser, author: Author, following: bool) -> None:
    """Follow or unfollow. Idempotent: the unique constraint makes a second follow a no-op."""
    if following:
        Follow.objects.bulk_create([Follow(user_id=user.pk, author=author)], ignore_conflicts=True)
    else:
        Follow.objects.filter(user_id=user.pk, author=author).delete()
