"""Engines, transactions and migrations for the store.

``Database(url)`` opens SQLite (a file; the default) or PostgreSQL. Work goes
through these context managers:

* ``read()``  - a session for queries only; never blocks writers on SQLite (WAL).
* ``write()`` - a session whose transaction commits on normal exit and rolls back
  on any exception, so a failed request never leaves partial state. On SQLite it
  begins with ``BEGIN IMMEDIATE``: writers queue on the database lock (up to
  ``busy_timeout``) instead of failing mid-transaction on a lock upgrade. Within
  one process they first queue on a Python lock: SQLite admits one writer at a
  time anyway, and its busy handler waits by sleeping (1, 2, 5, 10 ... ms),
  which under concurrent writes cost tens of milliseconds at p99.

  A write transaction's lookups lock the rows they find (``byoi.store.lookups``).
* ``raw_read()`` / ``raw_write()`` - the same two kinds of transaction for the
  hot paths' ``Prepared`` statements, run straight on the driver
  (``byoi.store.raw``, which says why and what it costs); rows come back as
  named tuples of the columns.

A SQLite database file is created 0600 (its WAL and shared-memory files
follow its mode) and a missing directory for it 0700; an existing file with a
looser mode is tightened (``byoi.store.files``).

``migrate()`` brings the schema to the newest alembic revision; ``byoi serve``
runs it at start-up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from byoi.store.files import private_dir, private_sqlite
from byoi.store.raw import LOCKING, Transaction

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    """The store's connection to its SQL database. Thread-safe; one per process."""

    def __init__(self, url: str):
        """Open the database at ``url``; ValueError if the URL is unusable."""
        try:
            self.url = make_url(url)
            self.url.get_dialect()
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ValueError(f"unusable database URL {url!r}: {exc}") from None
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = self.url.database
            if not database or database == ":memory:":
                raise ValueError("byoi needs a file-backed SQLite database, e.g. sqlite:////path/byoi.db")
            if not self.url.query.get("uri"):  # (a file: URI names its file SQLite's way)
                path = Path(database)
                try:
                    if not path.parent.exists():
                        private_dir(path.parent)
                    private_sqlite(path)  # 0600 before SQLite opens it: it holds the access keys' secrets
                except OSError as exc:
                    raise ValueError(f"cannot create the SQLite database {path}: {exc}") from None
            self._reader = self._sqlite_engine(begin="BEGIN")
            self._writer = self._sqlite_engine(begin="BEGIN IMMEDIATE")
        else:
            self._reader = self._writer = create_engine(self.url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self._write_lock = threading.RLock() if self.is_sqlite else nullcontext()
        self._read_sessions = sessionmaker(self._reader, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)

    def _sqlite_engine(self, begin: str) -> Engine:
        engine = create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
            # implicit transactions defer locking in a way that deadlocks writers).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # LIKE is case-sensitive on PostgreSQL; make SQLite agree.
            cursor.execute("PRAGMA case_sensitive_like=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):  # type: ignore[no-untyped-def]
            # Straight to the driver: SQLAlchemy's execution path for this one
            # statement cost about as much as a whole indexed read.
            connection.connection.dbapi_connection.execute(begin)

        return engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; its transaction is rolled back at the end."""
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def raw_read(self) -> Iterator[Transaction]:
        """A driver connection in a read transaction, rolled back at the end."""
        pooled = self._reader.raw_connection()
        try:
            tx = Transaction(pooled.dbapi_connection, self._reader.dialect, locking=False)
            if self.is_sqlite:
                tx.begin("BEGIN")  # PostgreSQL's driver begins on the first statement
            yield tx
            tx.rollback()
        finally:
            pooled.close()

    @contextmanager
    def raw_write(self) -> Iterator[Transaction]:
        """A driver connection whose work commits on normal exit and rolls back on exception."""
        with self._write_lock:
            pooled = self._writer.raw_connection()
            try:
                tx = Transaction(pooled.dbapi_connection, self._writer.dialect, locking=True)
                if self.is_sqlite:
                    tx.begin("BEGIN IMMEDIATE")
                try:
                    yield tx
                except BaseException:
                    tx.rollback()
                    raise
                tx.commit()
            finally:
                pooled.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits on normal exit and rolls back on exception."""
        with self._write_lock, self._write_sessions() as session, session.begin():
            session.info[LOCKING] = True
            yield session

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._writer.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._reader.dispose()
        if self._writer is not self._reader:
            self._writer.dispose()
