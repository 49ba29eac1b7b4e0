"""The ``domains`` table and ``domain_members`` (user profiles and spaces).

Statements only; the rules are ``byoi.services.domains``'. Functions take the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction
they join).
"""

from __future__ import annotations

from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import Domain, DomainMember

#: Domains by their id (d-...).
DOMAIN_BY_ID: Lookup = by_columns(Domain, "domain_id", "account_id", "region")
#: A domain's user profiles (``kind`` "user") and spaces ("space") by name.
MEMBER_BY_NAME: Lookup = by_columns(DomainMember, "domain_pk", "kind", "name_key")
