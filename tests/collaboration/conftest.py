from tests.outbox.conftest import smtp

__all__ = ["smtp"]
