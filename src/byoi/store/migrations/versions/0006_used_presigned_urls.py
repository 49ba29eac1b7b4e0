"""Presigned domain URLs that have opened a session (each URL opens one).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('used_presigned_urls',
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('expires_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token_id')
    )
    op.create_index('ix_used_presigned_urls_expires', 'used_presigned_urls', ['expires_ms'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_used_presigned_urls_expires', table_name='used_presigned_urls')
    op.drop_table('used_presigned_urls')
