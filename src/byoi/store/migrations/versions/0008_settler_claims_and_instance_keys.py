"""Settlers' leases on rows (several replicas on one database) and the shared gateway key.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('settler_claims',
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('expires_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key')
    )
    op.create_index('ix_settler_claims_holder', 'settler_claims', ['holder'], unique=False)
    op.create_table('instance_keys',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('instance_keys')
    op.drop_index('ix_settler_claims_holder', table_name='settler_claims')
    op.drop_table('settler_claims')
