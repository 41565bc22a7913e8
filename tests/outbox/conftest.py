from collections.abc import Iterator

import pytest

from tests.outbox.smtp_server import SmtpServer


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    """The site mails through SMTP to a server of the test's own, down until `smtp.start()`."""
    server = SmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()
