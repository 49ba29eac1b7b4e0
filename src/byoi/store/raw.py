"""Statements written once with SQLAlchemy, compiled once, run straight on the driver.

On byoi's hot paths SQLAlchemy's execution machinery costs far more than the
database itself. Measured on SQLite (2 cores, see docs/benchmarks.md): one
indexed lookup costs about 140 µs through an ORM session, 70 µs through a Core
connection and 12 µs through the driver on a pooled connection; an ORM insert
330 µs, the same INSERT through the driver 31 µs. So hot paths keep
SQLAlchemy for what it is good at, writing each statement once, portably, from
the models, and skip it at run time:

* ``Prepared(stmt)`` compiles ``stmt`` once per dialect, on first use. Values are
  passed by ``bindparam`` name, and the parameter types' bind processing (JSON
  encoding, say) is applied. A statement that needs SQLAlchemy at run time
  (an expanding ``IN`` list, a literal-execute parameter) is refused with
  ``ValueError`` when first compiled, so tests catch it.
* Result rows are named tuples whose fields are the statement's column keys,
  after the columns' result processing (JSON decoding on SQLite). Like
  SQLAlchemy's ``Row`` they are read-only and duck-type the models' column
  attributes (``row.name``, ``row.created_ms``).
* ``locks``: the table whose found rows a *write* transaction locks
  (``SELECT ... FOR UPDATE OF``). On PostgreSQL writers run concurrently under
  READ COMMITTED, so of two transactions changing one row the second waits and
  then sees the first one's outcome; on SQLite writers are serialised anyway
  and nothing is added.
* Driver errors leave as SQLAlchemy's own exception classes
  (``IntegrityError``, ``OperationalError``, ...), so callers catch the same
  exceptions whichever path ran.

A ``Transaction`` runs Prepared statements in one transaction of one driver
connection. ``Database.raw_read()`` and ``Database.raw_write()`` open one;
``Transaction.of(session)`` joins an ORM session's transaction (the statements
do not see ORM changes that are not flushed yet).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Table, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

#: ``Session.info`` key marking a session whose lookups lock what they find.
LOCKING = "byoi.locking"


@dataclass(frozen=True)
class _Plan:
    """One statement compiled for one dialect."""

    sql: str
    #: Parameter names, in placeholder order for a positional paramstyle (SQLite's ``?``).
    names: tuple[str, ...]
    positional: bool
    #: Values the statement itself carries (literals compiled into anonymous parameters).
    constants: Mapping[str, Any]
    #: (name, processor) for each parameter whose type converts values for the driver.
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    #: The row type, or None for a statement that returns no rows.
    row: type | None
    #: One per column (None: the value as the driver gives it); None when no column has one.
    result_processors: tuple[Callable[[Any], Any] | None, ...] | None


class Prepared:
    """A statement compiled once per dialect; see the module docstring.

    ``locks``: the model whose rows this statement's results are locked in, when
    run in a write transaction (a SELECT whose rows the transaction will change
    or must keep from changing).
    """

    def __init__(self, stmt: Executable, locks: type | Table | None = None):
        #: The statement as written (without the lock), e.g. to run it in a Session instead.
        self.statement = stmt
        self._statements = {False: stmt, True: stmt.with_for_update(of=locks) if locks is not None else stmt}
        self._plans: dict[tuple[Dialect, bool], _Plan] = {}

    def plan(self, dialect: Dialect, locking: bool) -> _Plan:
        key = (dialect, locking)
        plan = self._plans.get(key)
        if plan is None:  # a race compiles twice, harmlessly
            plan = self._plans[key] = _compile(self._statements[locking], dialect)
        return plan


def _compile(stmt: Executable, dialect: Dialect) -> _Plan:
    compiled = stmt.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params or compiled.escaped_bind_names:
        raise ValueError(f"statement needs SQLAlchemy's execution path; use a Session or Connection: {compiled}")
    constants, bind_processors = {}, []
    for name, param in compiled.binds.items():
        if not param.required:
            constants[name] = param.effective_value
        processor = param.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind_processors.append((name, processor))
    columns = list(getattr(stmt, "exported_columns", ()))
    if columns and len(compiled._result_columns) != len(columns):  # e.g. an ORM eager load added a JOIN's columns
        raise ValueError(f"statement returns {len(compiled._result_columns)} columns for a row of {len(columns)}: {compiled}")
    row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
    result_processors = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Plan(
        sql=compiled.string,
        names=tuple(compiled.positiontup if compiled.positiontup is not None else compiled.binds),
        positional=compiled.positiontup is not None,
        constants=constants,
        bind_processors=tuple(bind_processors),
        row=row,
        result_processors=result_processors if any(result_processors) else None,
    )


class Transaction:
    """Prepared statements run in one transaction of one driver connection.

    The caller owns the transaction's boundaries (``Database.raw_read`` /
    ``raw_write`` or the joined session); this object only runs statements.
    """

    def __init__(self, dbapi_connection: Any, dialect: Dialect, locking: bool):
        self._connection = dbapi_connection
        self._cursor = dbapi_connection.cursor()
        self._dialect = dialect
        self.locking = locking

    @classmethod
    def of(cls, source: Session | Transaction) -> Transaction:
        """``source`` itself, or the transaction the session ``source`` is in (begun now if none)."""
        if isinstance(source, Transaction):
            return source
        session = source
        connection = session.connection()
        return cls(connection.connection.dbapi_connection, connection.dialect, bool(session.info.get(LOCKING)))

    def all(self, stmt: Prepared, params: Mapping[str, Any] | None = None) -> list:
        """Every row ``stmt`` returns."""
        plan = stmt.plan(self._dialect, self.locking)
        raw = self._run(plan, params or {}, fetch=True)
        processors = plan.result_processors
        if processors is None:
            return [plan.row._make(r) for r in raw]
        return [
            plan.row._make([p(v) if p else v for p, v in zip(processors, r, strict=True)]) for r in raw
        ]

    def first(self, stmt: Prepared, params: Mapping[str, Any] | None = None):
        """The first row ``stmt`` returns, or None."""
        rows = self.all(stmt, params)
        return rows[0] if rows else None

    def scalar(self, stmt: Prepared, params: Mapping[str, Any] | None = None):
        """The first column of the first row, or None."""
        row = self.first(stmt, params)
        return None if row is None else row[0]

    def execute(self, stmt: Prepared, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement for its effect; the number of rows it changed (any rows it returns are discarded)."""
        plan = stmt.plan(self._dialect, self.locking)
        self._run(plan, params or {}, fetch=plan.row is not None)  # SQLite cannot commit past an unread RETURNING
        return self._cursor.rowcount

    def serialize(self, key: str) -> None:
        """Make every other write transaction that serializes on ``key``, in any process, wait
        until this one ends: a transaction-level advisory lock on PostgreSQL (on the key's hash).
        SQLite's write transactions are serial already (``BEGIN IMMEDIATE``). For checks that
        no row lock can cover, such as "no row with this key exists yet, so insert one"."""
        if self._dialect.name == "postgresql":
            self.all(_ADVISORY_LOCK, {"key": key})

    def begin(self, sql: str) -> None:
        """Issue a transaction-control statement (``BEGIN IMMEDIATE``, ...) to the driver."""
        self._call(sql, None, lambda: self._cursor.execute(sql))

    def commit(self) -> None:
        self._call("COMMIT", None, self._connection.commit)

    def rollback(self) -> None:
        self._connection.rollback()

    def _run(self, plan: _Plan, params: Mapping[str, Any], fetch: bool) -> list:
        values = {**plan.constants, **params} if plan.constants else dict(params)
        for name, processor in plan.bind_processors:
            values[name] = processor(values[name])
        # A parameter the caller forgot is a KeyError here, whatever the paramstyle.
        args = [values[n] for n in plan.names] if plan.positional else {n: values[n] for n in plan.names}

        def run():
            self._cursor.execute(plan.sql, args)
            return self._cursor.fetchall() if fetch else []

        return self._call(plan.sql, args, run)

    def _call(self, sql: str, args, action: Callable[[], Any]):
        dbapi = self._dialect.loaded_dbapi
        try:
            return action()
        except dbapi.Error as exc:
            raise DBAPIError.instance(sql, args, exc, dbapi.Error, dialect=self._dialect) from exc


#: PostgreSQL's transaction-level advisory lock on a text key (``Transaction.serialize``).
_ADVISORY_LOCK = Prepared(select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)).label("locked")))
