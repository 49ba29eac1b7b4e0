"""Studio domains, user profiles and spaces (members), and apps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:55:00.535353
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('next_home_uid', sa.Integer(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('domain_id')
    )
    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.create_index('ix_domains_scope', ['account_id', 'region', 'created_ms'], unique=False)

    op.create_table('domain_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('name_key', sa.String(length=63), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('home_uid', sa.Integer(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['domain_pk'], ['domains.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('domain_pk', 'kind', 'name_key', name='uq_domain_members_name')
    )
    with op.batch_alter_table('domain_members', schema=None) as batch_op:
        batch_op.create_index('ix_domain_members_created', ['domain_pk', 'kind', 'created_ms'], unique=False)

    op.create_table('apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain_pk', sa.Integer(), nullable=False),
    sa.Column('member_pk', sa.Integer(), nullable=True),
    sa.Column('owner_kind', sa.String(length=8), nullable=False),
    sa.Column('owner_name', sa.String(length=63), nullable=False),
    sa.Column('app_type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('live_key', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('resource_spec', sa.JSON(), nullable=False),
    sa.Column('container_image', sa.String(length=512), nullable=True),
    sa.Column('image_version_arn', sa.String(length=256), nullable=True),
    sa.Column('app_image_config', sa.JSON(), nullable=True),
    sa.Column('container_name', sa.String(length=255), nullable=True),
    sa.Column('endpoint_host', sa.String(length=255), nullable=True),
    sa.Column('endpoint_port', sa.Integer(), nullable=True),
    sa.Column('started_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_activity_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_health_ms', sa.BigInteger(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['domain_pk'], ['domains.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_pk'], ['domain_members.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('live_key')
    )
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.create_index('ix_apps_domain', ['domain_pk', 'created_ms'], unique=False)
        batch_op.create_index('ix_apps_status', ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_index('ix_apps_status')
        batch_op.drop_index('ix_apps_domain')

    op.drop_table('apps')
    with op.batch_alter_table('domain_members', schema=None) as batch_op:
        batch_op.drop_index('ix_domain_members_created')

    op.drop_table('domain_members')
    with op.batch_alter_table('domains', schema=None) as batch_op:
        batch_op.drop_index('ix_domains_scope')

    op.drop_table('domains')
