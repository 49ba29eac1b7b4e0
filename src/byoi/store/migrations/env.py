"""Alembic environment: runs byoi's migrations on the connection byoi hands in.

``Database.migrate()`` passes its connection in ``config.attributes``; the
``alembic`` command line is not needed to run byoi.
"""

from alembic import context

from byoi.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
