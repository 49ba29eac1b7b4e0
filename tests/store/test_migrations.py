"""The alembic migrations build exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from byoi.store.database import Database
from byoi.store.models import Base
from tests.conftest import fresh_database_url


def test_migrations_match_the_models(tmp_path):
    db = Database(fresh_database_url(tmp_path))
    db.migrate()
    with db._writer.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migrate_is_idempotent_and_keeps_data(tmp_path):
    db = Database(fresh_database_url(tmp_path))
    db.migrate()
    with db.write() as session:
        session.execute(Base.metadata.tables["tags"].insert().values(resource_arn="arn:x", key="k", value="v"))
    db.migrate()
    with db.read() as session:
        assert session.execute(Base.metadata.tables["tags"].select()).all()[0].key == "k"
    with db._reader.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= {"images", "image_versions", "image_version_aliases", "app_image_configs", "tags", "alembic_version"}


def test_in_memory_sqlite_is_refused_with_a_reason(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="file-backed"):
        Database("sqlite://")
