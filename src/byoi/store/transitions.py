"""State transitions of one table's rows: the one mechanism every settler uses.

An API call only records intent (a row in a transitional state, such as an
Image CREATING); a settler (``byoi.services.settling``) finishes it later. Each
settler does the same three things, which live here:

* **due rows**: ``scan()`` reads, in one transaction, the rows in the watched
  states; a row is *due* once it has been in its state for the table's delay
  (its ``since`` column, ``modified_ms`` unless said otherwise, at least
  ``delay_seconds`` ago). The scan also says when the next row falls due.
* **compare-and-set**: ``advance(key, expected, **values)`` changes a row only
  if it is still in the state the settler saw, in a transaction of its own;
  ``holds(session, key, expected)`` checks (and locks) it inside a larger one,
  for steps that delete a row with its children. Several threads or processes
  can share the work, and a restart resumes whatever was interrupted.
* **next-due time**: ``Scan.next_in``, seconds until the earliest row not yet
  due is (None: none waits), and ``soonest()`` to combine such waits.
* **claims** (several replicas on one database): a due row is settled only by
  the replica that holds a *lease* on it, a row of ``settler_claims`` naming
  the holder (``Lease.holder``, byoi's BYOI_REPLICA_ID) and when the lease
  expires. ``scan()`` returns only the due rows this replica holds: it claims
  the unclaimed and expired ones, renews its own once half their lease has
  run, and skips those another replica holds (their expiry counts as a
  next-due time, so a killed replica's rows are taken over once its leases
  run out). A claim is one upsert whose WHERE lets it through only when the
  row is unclaimed, expired or already this holder's, so of two racing
  replicas exactly one wins, on SQLite and on PostgreSQL alike. Leases are
  sticky: the holder keeps a row (an app from Pending to Deleted) while it
  lives, so side effects (a container's start, its log shipping) happen in one
  replica only; ``claim(key)`` renews one just before such an effect, and
  ``release_claims()`` gives a replica's leases back when it stops.

Statements are ``Prepared`` (``byoi.store.raw``): a settler runs inside API
calls when byoi settles at once, so this path is as cheap as a hot one.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from byoi.store.database import Database
from byoi.store.models import SettlerClaim
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Updates

#: How long a claim lasts unless renewed (BYOI_SETTLER_LEASE_SECONDS's default).
LEASE_SECONDS = 30.0


@dataclass(frozen=True)
class Lease:
    """Who this replica is (``holder``) and how long its claims last unrenewed."""

    holder: str
    seconds: float = LEASE_SECONDS

    @property
    def ms(self) -> int:
        return int(round(self.seconds * 1000))


def default_holder(data_dir: str) -> str:
    """A replica's default name: this host's name and its data directory (a hash of it), so
    replicas on one host differ by data directory and a restarted replica is the same holder
    (it resumes its own rows at once instead of waiting for its old leases to expire)."""
    digest = hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:12]
    return f"{socket.gethostname()[:100]}:{digest}"


#: The lease of a Transitions given none (tests, tools): this process, by its id.
PROCESS_LEASE = Lease(f"{socket.gethostname()[:100]}:pid{os.getpid()}")


def _claim_statement(dialect) -> Prepared:
    """INSERT a claim, or take it over when it is expired or already ours: one atomic upsert."""
    table = SettlerClaim.__table__
    stmt = dialect.insert(table).values(
        kind=bindparam("kind"), key=bindparam("key"), holder=bindparam("holder"), expires_ms=bindparam("expires_ms")
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.key],
        set_={"holder": stmt.excluded.holder, "expires_ms": stmt.excluded.expires_ms},
        where=or_(table.c.holder == stmt.excluded.holder, table.c.expires_ms < bindparam("now_ms")),
    )
    return Prepared(stmt)


_CLAIM = {"sqlite": _claim_statement(sqlite), "postgresql": _claim_statement(postgresql)}
_CLAIMS_OF_KIND = Prepared(
    select(SettlerClaim.key, SettlerClaim.holder, SettlerClaim.expires_ms).where(SettlerClaim.kind == bindparam("kind"))
)
_FORGET_EXPIRED = Prepared(
    delete(SettlerClaim).where(SettlerClaim.kind == bindparam("kind"), SettlerClaim.expires_ms < bindparam("before_ms"))
)
_RELEASE = Prepared(delete(SettlerClaim).where(SettlerClaim.holder == bindparam("holder")))


def release_claims(db: Database, holder: str) -> int:
    """Give back every lease ``holder`` has (a replica stopping cleanly); how many there were."""
    with db.raw_write() as tx:
        return tx.execute(_RELEASE, {"holder": holder})


def soonest(*waits: float | None) -> float | None:
    """The shortest of the waits that are not None (None if every one is)."""
    pending = [w for w in waits if w is not None]
    return min(pending) if pending else None


@dataclass(frozen=True)
class Scan:
    #: The due rows: named tuples of ``key``, ``status``, ``since`` and the extra columns asked for.
    due: list
    #: Seconds until the next row not yet due falls due; None when none waits.
    next_in: float | None


class Transitions:
    """The transitional rows of one table; see the module docstring.

    ``states`` are the states watched; ``delay_seconds`` how long a row sits in one
    before it is due (0: at once; byoi's ``transition_seconds``); ``key`` the column naming a row (the primary
    key unless said otherwise); ``since`` when the row entered its state;
    ``columns`` extra columns the settler reads with each due row; ``lease``
    this replica's name and lease length (``PROCESS_LEASE`` when not given).
    Every Transitions of one table shares its claims (the table names them).
    """

    def __init__(
        self,
        db: Database,
        model: type,
        states: Iterable[str],
        delay_seconds: float = 0,
        key: InstrumentedAttribute | None = None,
        since: InstrumentedAttribute | None = None,
        columns: Iterable[InstrumentedAttribute] = (),
        lease: Lease | None = None,
    ):
        self._db = db
        self._lease = lease or PROCESS_LEASE
        self._kind = model.__tablename__
        self._claim = _CLAIM["sqlite" if db.is_sqlite else "postgresql"]
        self._delay_ms = int(round(delay_seconds * 1000))
        self._key = key if key is not None else getattr(model, inspect(model).primary_key[0].key)
        self._since = since if since is not None else model.modified_ms
        status = model.status
        # One placeholder per state (an IN list would need SQLAlchemy at run time).
        self._scan = Prepared(
            select(self._key.label("key"), status.label("status"), self._since.label("since"), *columns).where(
                or_(*(status == state for state in states))
            )
        )
        self._holds = Prepared(select(status).where(self._key == bindparam("key")), locks=model)
        self._updates = Updates(model, key=self._key, guard=status)

    @property
    def lease(self) -> Lease:
        return self._lease

    def scan(self, now_ms: int) -> Scan:
        """The due rows this replica holds (claimed now if need be) and when the next row
        falls due or another replica's lease on one runs out, as of ``now_ms``."""
        with self._db.raw_read() as tx:
            rows = tx.all(self._scan)
            claims = {c.key: c for c in tx.all(_CLAIMS_OF_KIND, {"kind": self._kind})} if rows else {}
        due, to_claim, waits = [], [], []
        holder, renew_ms = self._lease.holder, self._lease.ms // 2
        for row in rows:
            due_ms = row.since + self._delay_ms
            if due_ms > now_ms:
                waits.append((due_ms - now_ms) / 1000)
                continue
            claim = claims.get(str(row.key))
            if claim is None or claim.expires_ms < now_ms or (claim.holder == holder and claim.expires_ms - now_ms <= renew_ms):
                to_claim.append(row)
            elif claim.holder == holder:
                due.append(row)
            else:  # another replica's: look again when its lease would run out
                waits.append((claim.expires_ms - now_ms) / 1000 + 0.001)
        if to_claim:
            with self._db.raw_write() as tx:
                # Leases expired a lease ago are nobody's: forget them (the table holds live claims only).
                tx.execute(_FORGET_EXPIRED, {"kind": self._kind, "before_ms": now_ms - self._lease.ms})
                # In one order (by key as text) in every replica, so two claiming overlapping rows never deadlock.
                for row in sorted(to_claim, key=lambda r: str(r.key)):
                    if self._claim_in(tx, row.key, now_ms):
                        due.append(row)
                    else:
                        waits.append(self._lease.seconds)
        return Scan(due, soonest(*waits))

    def rows(self) -> list:
        """Every row in a watched state, due or not, whoever holds it (e.g. to tell live from orphaned)."""
        with self._db.raw_read() as tx:
            return tx.all(self._scan)

    def claim(self, key: Any, now_ms: int) -> bool:
        """Claim (or renew) row ``key`` for this replica as of ``now_ms``; whether it is ours.
        Call it just before a side effect that must happen once (starting a container)."""
        with self._db.raw_write() as tx:
            return self._claim_in(tx, key, now_ms)

    def _claim_in(self, tx: Transaction, key: Any, now_ms: int) -> bool:
        params = {"kind": self._kind, "key": str(key), "holder": self._lease.holder,
                  "expires_ms": now_ms + self._lease.ms, "now_ms": now_ms}
        return tx.execute(self._claim, params) > 0

    def advance(self, key: Any, expected: str, **values: Any) -> bool:
        """Set ``values`` on the row ``key`` if it is still ``expected``; whether it was."""
        with self._db.raw_write() as tx:
            return self._updates.run(tx, key, expected=expected, **values) > 0

    def record(self, key: Any, **values: Any) -> None:
        """Set ``values`` on the row ``key`` whatever its state (facts that are not a state change)."""
        with self._db.raw_write() as tx:
            self._updates.run(tx, key, **values)

    def holds(self, source: Session | Transaction, key: Any, expected: str) -> bool:
        """Whether row ``key`` is ``expected``, locked until the caller's (write) transaction ends."""
        return Transaction.of(source).scalar(self._holds, {"key": key}) == expected
