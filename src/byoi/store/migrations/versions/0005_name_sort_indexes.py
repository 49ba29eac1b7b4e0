"""Indexes for listing Images and AppImageConfigs sorted by name (flat page latency).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:30:00
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_images_name', 'images', ['account_id', 'region', 'name'], unique=False)
    op.create_index('ix_app_image_configs_name', 'app_image_configs', ['account_id', 'region', 'name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_app_image_configs_name', table_name='app_image_configs')
    op.drop_index('ix_images_name', table_name='images')
