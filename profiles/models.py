from django.conf import settings
from django.db import models

from works.models import Author


class Follow(models.Model):
    """A person following a researcher. Unique, so double clicks count once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "author"], name="follow_uniq")]
        indexes = [models.Index(fields=["author", "user"], name="follow_author_idx")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.author_id}"
