"""Access keys for SigV4 authentication.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_keys',
    sa.Column('access_key_id', sa.String(length=128), nullable=False),
    sa.Column('secret_access_key', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=256), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('access_key_id')
    )


def downgrade() -> None:
    op.drop_table('access_keys')
