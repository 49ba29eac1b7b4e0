"""Cloud Control resource requests (kept 7 days).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:40:57.554243
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resource_requests',
    sa.Column('request_token', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('client_token', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('type_name', sa.String(length=196), nullable=False),
    sa.Column('operation', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('identifier', sa.String(length=1024), nullable=True),
    sa.Column('desired_state', sa.Text(), nullable=True),
    sa.Column('resource_model', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('executed', sa.Boolean(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('event_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('request_token')
    )
    with op.batch_alter_table('resource_requests', schema=None) as batch_op:
        batch_op.create_index('ix_resource_requests_client_token', ['account_id', 'region', 'client_token'], unique=False)
        batch_op.create_index('ix_resource_requests_created', ['account_id', 'region', 'created_ms'], unique=False)
        batch_op.create_index('ix_resource_requests_status', ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('resource_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_requests_status')
        batch_op.drop_index('ix_resource_requests_created')
        batch_op.drop_index('ix_resource_requests_client_token')

    op.drop_table('resource_requests')
