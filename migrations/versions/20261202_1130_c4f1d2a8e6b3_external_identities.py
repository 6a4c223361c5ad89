"""external identities: identity_provider, external_identity, external_login,
service_trust_level (core.identity.external); user_account.email may be empty (BundID accounts)

Revision ID: c4f1d2a8e6b3
Revises: c4a8d2e61f03
Create Date: 2026-12-02 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.kernel.db

revision: str = "c4f1d2a8e6b3"
down_revision: str | None = "c4a8d2e61f03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = sa.Enum(
    "oidc", "saml", name="provider_kind", native_enum=False, create_constraint=True, length=10
)
LEVEL = sa.Enum(
    "basis",
    "substanziell",
    "hoch",
    name="trust_level",
    native_enum=False,
    create_constraint=True,
    length=20,
)


def upgrade() -> None:
    op.create_table(
        "identity_provider",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("issuer", sa.String(length=400), nullable=False),
        sa.Column("discovery_url", sa.String(length=400), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("client_secret", sa.String(length=400), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("level_claim", sa.String(length=120), nullable=False),
        sa.Column("level_values", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_identity_provider_municipality_id_municipality"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_provider")),
        sa.UniqueConstraint(
            "municipality_id", "slug", name=op.f("uq_identity_provider_municipality_id_slug")
        ),
    )
    op.create_table(
        "external_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("issuer", sa.String(length=400), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("trust_level", LEVEL, nullable=False),
        sa.Column("created_at", core.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", core.kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["user_account.id"],
            name=op.f("fk_external_identity_account_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_external_identity_issuer_subject")),
    )
    op.create_table(
        "external_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=400), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("trust_level", LEVEL, nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "login",
                "register",
                "link",
                "step_up",
                name="login_purpose",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("at", core.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["external_identity.id"],
            name=op.f("fk_external_login_identity_id_external_identity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_provider.id"],
            name=op.f("fk_external_login_provider_id_identity_provider"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_login")),
    )
    op.create_table(
        "service_trust_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "service",
            sa.Enum(
                "sepa_mandate",
                "bank_account_change",
                "meter_reading",
                name="trust_service",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("min_level", LEVEL, nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_service_trust_level_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_trust_level")),
        sa.UniqueConstraint(
            "municipality_id",
            "service",
            name=op.f("uq_service_trust_level_municipality_id_service"),
        ),
    )
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("email", existing_type=sa.String(length=254), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("email", existing_type=sa.String(length=254), nullable=False)
    op.drop_table("service_trust_level")
    op.drop_table("external_login")
    op.drop_table("external_identity")
    op.drop_table("identity_provider")
