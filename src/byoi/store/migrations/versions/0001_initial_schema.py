"""Initial schema: images, image versions and aliases, app image configs, tags.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 08:18:22.502160
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_image_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('name_key', sa.String(length=63), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.Column('kernel_gateway', sa.JSON(), nullable=True),
    sa.Column('jupyter_lab', sa.JSON(), nullable=True),
    sa.Column('code_editor', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'region', 'name_key', name='uq_app_image_configs_name')
    )
    with op.batch_alter_table('app_image_configs', schema=None) as batch_op:
        batch_op.create_index('ix_app_image_configs_created', ['account_id', 'region', 'created_ms'], unique=False)
        batch_op.create_index('ix_app_image_configs_modified', ['account_id', 'region', 'modified_ms'], unique=False)

    op.create_table('images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('name_key', sa.String(length=63), nullable=False),
    sa.Column('role_arn', sa.String(length=2048), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=True),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.Column('next_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'region', 'name_key', name='uq_images_name')
    )
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.create_index('ix_images_created', ['account_id', 'region', 'created_ms'], unique=False)
        batch_op.create_index('ix_images_modified', ['account_id', 'region', 'modified_ms'], unique=False)
        batch_op.create_index('ix_images_status', ['status'], unique=False)

    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_arn', sa.String(length=256), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('resource_arn', 'key', name='uq_tags_key')
    )
    op.create_table('image_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('base_image', sa.String(length=255), nullable=False),
    sa.Column('container_image', sa.String(length=512), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('client_token', sa.String(length=36), nullable=False),
    sa.Column('vendor_guidance', sa.String(length=16), nullable=True),
    sa.Column('job_type', sa.String(length=16), nullable=True),
    sa.Column('ml_framework', sa.String(length=128), nullable=True),
    sa.Column('programming_lang', sa.String(length=128), nullable=True),
    sa.Column('processor', sa.String(length=8), nullable=True),
    sa.Column('horovod', sa.Boolean(), nullable=True),
    sa.Column('release_notes', sa.String(length=255), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('image_id', 'client_token', name='uq_image_versions_token'),
    sa.UniqueConstraint('image_id', 'version', name='uq_image_versions_version')
    )
    with op.batch_alter_table('image_versions', schema=None) as batch_op:
        batch_op.create_index('ix_image_versions_status', ['status'], unique=False)

    op.create_table('image_version_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['image_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('image_id', 'alias', name='uq_image_version_aliases_alias')
    )


def downgrade() -> None:
    op.drop_table('image_version_aliases')
    with op.batch_alter_table('image_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_image_versions_status')

    op.drop_table('image_versions')
    op.drop_table('tags')
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_index('ix_images_status')
        batch_op.drop_index('ix_images_modified')
        batch_op.drop_index('ix_images_created')

    op.drop_table('images')
    with op.batch_alter_table('app_image_configs', schema=None) as batch_op:
        batch_op.drop_index('ix_app_image_configs_modified')
        batch_op.drop_index('ix_app_image_configs_created')

    op.drop_table('app_image_configs')
