"""The store's tests run on a fresh, migrated database: SQLite, or PostgreSQL when BYOI_TEST_POSTGRES_URL is set."""

import threading
from collections.abc import Callable

import pytest

from byoi.store.database import Database
from tests.conftest import fresh_database_url


@pytest.fixture
def db(tmp_path):
    database = Database(fresh_database_url(tmp_path))
    database.migrate()
    yield database
    database.dispose()


def run_together(work: Callable[[], None], threads: int) -> None:
    """Run ``work`` in ``threads`` threads at once and wait for all of them."""
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
