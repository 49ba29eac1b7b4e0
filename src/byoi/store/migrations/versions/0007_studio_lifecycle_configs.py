"""Studio lifecycle configurations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_TABLE = 'studio_lifecycle_configs'


def upgrade() -> None:
    op.create_table(_TABLE,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('name_key', sa.String(length=63), nullable=False),
    sa.Column('app_type', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'region', 'name_key', name='uq_studio_lifecycle_configs_name')
    )
    for suffix, column in (('created', 'created_ms'), ('modified', 'modified_ms'), ('name', 'name')):
        op.create_index(f'ix_{_TABLE}_{suffix}', _TABLE, ['account_id', 'region', column], unique=False)


def downgrade() -> None:
    for suffix in ('created', 'modified', 'name'):
        op.drop_index(f'ix_{_TABLE}_{suffix}', table_name=_TABLE)
    op.drop_table(_TABLE)
