"""SQLAlchemy 2 typed ORM models; geometry columns are EPSG:4326 with explicit types and GiST indexes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INT4MULTIRANGE, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.policy import ROLES
from geo.vocab import (
    ALL_EVENT_KINDS,
    ASSET_CATEGORIES,
    CASE_DOCUMENT_KINDS,
    CASE_KINDS,
    COMMITMENT_STAGES,
    COMMUNITY_BODY_KINDS,
    LINK_KINDS,
    NEED_SOURCES,
    OWNERSHIPS,
    RESOURCE_KINDS,
    REVIEW_STATUSES,
    VENUE_KINDS,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK that `column` takes one of `values` (values are our own constants)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _venue_kinds_known(column: str) -> str:
    """SQL text of a CHECK that every element of the array `column` is a venue kind (geo.vocab.VENUE_KINDS)."""
    return f"{column} <@ ARRAY[{', '.join(repr(k) for k in VENUE_KINDS)}]::varchar[]"


class Base(DeclarativeBase):
    """Declarative base with a naming convention so Alembic names every constraint predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class City(Base):
    """A place that owns neighbourhoods."""

    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str | None] = mapped_column(String(100))
    crs: Mapped[str | None] = mapped_column(String(40))  # projected CRS for measuring, e.g. EPSG:25833
    data_date: Mapped[str | None] = mapped_column(String(40))
    attribution: Mapped[str | None] = mapped_column(Text)
    # IANA time zone its service schedules are read in (migration 0012); NULL: UTC
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class Neighbourhood(Base):
    """A polygon with a code unique in its city, population and population by group."""

    __tablename__ = "neighbourhood"
    __table_args__ = (
        UniqueConstraint("city_id", "code", name="uq_neighbourhood_city_code"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonnegative"),
        CheckConstraint("level IN ('district', 'neighbourhood', 'area')", name="level_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # checked once per statement by a trigger, not per row by a foreign key (migration 0004)
    city_id: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(20), server_default="neighbourhood")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="SET NULL"), index=True
    )
    population: Mapped[int | None] = mapped_column(Integer)
    # counts per group from geo.vocab (under_6, 6_15, ..., over_65, female, foreigners)
    population_by_group: Mapped[dict[str, int]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    import_id: Mapped[int | None] = mapped_column(Integer)  # audit reference to import_run, no foreign key
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class ServiceType(Base):
    """What a need asks for and an asset offers, with its default catchment and the group it serves."""

    __tablename__ = "service_type"
    __table_args__ = (
        CheckConstraint("default_radius_m > 0 AND default_radius_m <= 100000", name="radius_range"),
        CheckConstraint("default_capacity > 0", name="default_capacity_positive"),
        CheckConstraint(_venue_kinds_known("venue_kinds"), name="venue_kinds_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    default_radius_m: Mapped[float] = mapped_column(Float)
    population_group: Mapped[str] = mapped_column(String(32), server_default="all")
    # capacity a run gives assets whose capacity is unknown (ANALYSIS.md "Unknown capacity"); NULL: none
    default_capacity: Mapped[float | None] = mapped_column(Float)
    # the kinds of place (asset.kind) that could host the service: a site suggestion's default candidates
    venue_kinds: Mapped[list[str]] = mapped_column(
        ARRAY(String(30)), server_default=text("'{}'::varchar[]"), nullable=False
    )
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class CityServiceCapacity(Base):
    """A city's own default capacity for a service type; it overrides the service type's."""

    __tablename__ = "city_service_capacity"
    __table_args__ = (CheckConstraint("default_capacity > 0", name="default_capacity_positive"),)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), primary_key=True)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("service_type.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    default_capacity: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = _now()


class CityServiceVenueKinds(Base):
    """A city's own list of the kinds of place that could host a service type; it replaces the service type's."""

    __tablename__ = "city_service_venue_kinds"
    __table_args__ = (CheckConstraint(_venue_kinds_known("venue_kinds"), name="venue_kinds_known"),)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), primary_key=True)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("service_type.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    venue_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(30)))
    updated_at: Mapped[dt.datetime] = _now()


# Items outside every area are not indexed by neighbourhood: only searches for one area's items use the index.
LOCATED = "neighbourhood_id IS NOT NULL"


class AssetServiceType(Base):
    """Which service types an asset offers (many-to-many)."""

    __tablename__ = "asset_service_type"
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("service_type.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Only entries waiting for review (or rejected) are looked up by status, so only they are indexed.
NOT_APPROVED = "status <> 'approved'"


class ReviewedMixin:
    """Columns every community-editable item shares: review status, version, authorship and import."""

    status: Mapped[str] = mapped_column(String(16), server_default="approved")
    review_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # audit references to app_user and import_run: plain ids, no foreign keys (migrations 0003 and 0004)
    created_by: Mapped[int | None] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class Asset(ReviewedMixin, Base):
    """Something the community has: an ABCD category, a location and the services it offers."""

    __tablename__ = "asset"
    __table_args__ = (
        CheckConstraint(_in("category", ASSET_CATEGORIES), name="category_known"),
        CheckConstraint(f"ownership IS NULL OR {_in('ownership', OWNERSHIPS)}", name="ownership_known"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint(f"kind IS NULL OR {_in('kind', tuple(VENUE_KINDS))}", name="kind_known"),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status_known"),
        # The natural key compared byte by byte (migration 0010): the same uniqueness, cheaper entries.
        Index(
            "uq_asset_city_source",
            "city_id",
            text('source COLLATE "C"'),
            text('source_id COLLATE "C"'),
            unique=True,
        ),
        Index("ix_asset_city_id_id", "city_id", "id"),
        Index("ix_asset_neighbourhood_id", "neighbourhood_id", postgresql_where=text(LOCATED)),
        Index("idx_asset_geom", "geom", postgresql_using="spgist"),
        Index("ix_asset_status", "status", postgresql_where=text(NOT_APPROVED)),
        Index(
            "ix_asset_blurred_location",
            "blurred_location",
            postgresql_using="gist",
            postgresql_where=text("category = 'individual' OR sensitive"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(Integer)  # checked per statement by a trigger (migration 0004)
    # checked per statement by a trigger, cleared when the neighbourhood is deleted; indexed where set (migration 0006)
    neighbourhood_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    # what sort of place it is (geo.vocab.VENUE_KINDS: community_centre, library, playground, ...); NULL: not known
    kind: Mapped[str | None] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # indexed with SP-GiST (idx_asset_geom below): it takes bulk-imported points faster than GiST (migration 0004)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    # the centre of the asset's H3 cell: what people without planner rights see of individuals and sensitive assets
    blurred_location: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=False
    )
    capacity: Mapped[float | None] = mapped_column(Float)
    capacity_unit: Mapped[str | None] = mapped_column(String(50))
    ownership: Mapped[str | None] = mapped_column(String(20))
    contact: Mapped[str | None] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(Boolean, server_default="false")
    sensitive: Mapped[bool] = mapped_column(Boolean, server_default="false")
    service_types: Mapped[list[ServiceType]] = relationship(secondary="asset_service_type", lazy="selectin")


class Need(ReviewedMixin, Base):
    """A mapped need: a service type, a place (point or area), people affected and severity."""

    __tablename__ = "need"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity_range"),
        CheckConstraint("people_affected IS NULL OR people_affected >= 0", name="people_nonnegative"),
        CheckConstraint(f"source IS NULL OR {_in('source', NEED_SOURCES)}", name="source_known"),
        CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name="geom_point_or_area"
        ),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status_known"),
        Index("uq_need_city_source", "city_id", "source_ref", unique=True),
        Index("ix_need_city_id_id", "city_id", "id"),
        Index("ix_need_neighbourhood_id", "neighbourhood_id", postgresql_where=text(LOCATED)),
        Index("ix_need_status", "status", postgresql_where=text(NOT_APPROVED)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(Integer)  # checked per statement by a trigger (migration 0004)
    # checked per statement by a trigger, cleared when the neighbourhood is deleted; indexed where set (migration 0006)
    neighbourhood_id: Mapped[int | None] = mapped_column(Integer)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("service_type.id", ondelete="RESTRICT"), index=True
    )
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=False)
    people_affected: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[int] = mapped_column(Integer, server_default="3")
    source: Mapped[str | None] = mapped_column(String(40))
    source_ref: Mapped[str | None] = mapped_column(String(200))  # an id in the file it was imported from
    description: Mapped[str | None] = mapped_column(Text)
    observed_on: Mapped[dt.date | None] = mapped_column(Date)


class Resource(ReviewedMixin, Base):
    """Something an asset or neighbourhood can give: funding, volunteers, space, equipment, skills."""

    __tablename__ = "resource"
    __table_args__ = (
        CheckConstraint(_in("kind", RESOURCE_KINDS), name="kind_known"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_nonnegative"),
        CheckConstraint("asset_id IS NOT NULL OR neighbourhood_id IS NOT NULL", name="has_owner"),
        CheckConstraint(
            "available_until IS NULL OR available_from IS NULL OR available_until >= available_from",
            name="availability_order",
        ),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status_known"),
        Index("uq_resource_city_source", "city_id", "source_ref", unique=True),
        Index("ix_resource_city_id_id", "city_id", "id"),
        Index("ix_resource_status", "status", postgresql_where=text(NOT_APPROVED)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(Integer)  # checked per statement by a trigger (migration 0004)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(50))
    available_from: Mapped[dt.date | None] = mapped_column(Date)
    available_until: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    source_ref: Mapped[str | None] = mapped_column(String(200))


class Link(ReviewedMixin, Base):
    """A relationship between two assets: the community's network."""

    __tablename__ = "link"
    __table_args__ = (
        CheckConstraint(_in("kind", LINK_KINDS), name="kind_known"),
        CheckConstraint("source_asset_id <> target_asset_id", name="not_self"),
        CheckConstraint("weight IS NULL OR weight >= 0", name="weight_nonnegative"),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status_known"),
        # one tie of a kind per pair, whichever way round it was entered
        Index(
            "uq_link_pair_kind",
            text("kind"),
            text("LEAST(source_asset_id, target_asset_id)"),
            text("GREATEST(source_asset_id, target_asset_id)"),
            unique=True,
        ),
        Index("ix_link_city_id_id", "city_id", "id"),
        Index("ix_link_status", "status", postgresql_where=text(NOT_APPROVED)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    source_asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    target_asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    weight: Mapped[float | None] = mapped_column(Float)
    directed: Mapped[bool] = mapped_column(Boolean, server_default="false")
    description: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """An account with one role; organisers also have assigned neighbourhoods."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role_known"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[dt.datetime] = _now()


class UserNeighbourhood(Base):
    """A neighbourhood an organiser may edit."""

    __tablename__ = "user_neighbourhood"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiToken(Base):
    """A bearer token (short-lived, from login) or API key (long-lived); only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("kind IN ('session', 'api_key')", name="kind_known"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Change(Base):
    """One recorded create, update, delete, review or revert of an item: who, when, before, after and why."""

    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_kind_item", "kind", "item_id", "id"),
        Index(
            "ix_change_item_ids",
            "item_ids",
            postgresql_using="gist",
            postgresql_where=text("item_ids IS NOT NULL"),
        ),
        CheckConstraint("(item_id IS NULL) <> (item_ids IS NULL)", name="one_item_or_batch"),
        CheckConstraint(
            "action IN ('create', 'update', 'delete', 'revert', 'restore', 'approve', 'reject', 'import')",
            name="action_known",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # One item, or (for the items an import created) all of them: see migration 0004 and app/services/history.py
    item_id: Mapped[int | None] = mapped_column(Integer)
    item_ids: Mapped[Any | None] = mapped_column(INT4MULTIRANGE)
    city_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(10))
    version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # audit references (see migration 0003): kept as plain ids, so history outlives users and imports
    user_id: Mapped[int | None] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = _now()


class ImportRun(Base):
    """One file brought in by GIS staff, with its options, counts and per-feature report."""

    __tablename__ = "import_run"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'dry_run', 'succeeded', 'failed')", name="status_known"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    layer: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    inserted: Mapped[int] = mapped_column(Integer, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AnalysisRun(Base):
    """One coverage-gap computation with its parameters, the data version it read, results and timing."""

    __tablename__ = "analysis_run"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'succeeded', 'failed')", name="status_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("service_type.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    data_version: Mapped[str | None] = mapped_column(String(80))
    include_pending: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # per-neighbourhood, per-asset and summary results, and any suggested sites / what-if outcomes
    results: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    error: Mapped[str | None] = mapped_column(Text)
    timing_ms: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = _now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AnalysisCell(Base):
    """One demand unit's result in an analysis run."""

    __tablename__ = "analysis_cell"
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    neighbourhood_id: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[float] = mapped_column(Float)
    need: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    covered: Mapped[bool] = mapped_column(Boolean)
    # NULL where capacity is unknown and no default is set (ANALYSIS.md "Unknown capacity"): not computable
    access: Mapped[float | None] = mapped_column(Float)
    access_score: Mapped[float | None] = mapped_column(Float)
    shortfall: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)


class LoginFailure(Base):
    """Failed logins per username, for rate limiting (kept even for unknown names, so they look alike)."""

    __tablename__ = "login_failure"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_failure_at: Mapped[dt.datetime] = _now()


class StreetNetwork(Base):
    """A city's street network for walking distances: where it came from, when, and what was kept (one per city)."""

    __tablename__ = "street_network"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), unique=True)
    source_name: Mapped[str] = mapped_column(String(300))
    source_format: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    licence: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    crs: Mapped[str] = mapped_column(String(40))  # the projected CRS the graph was split and measured in
    # lines read, walkable lines kept, lines dropped by tag, nodes, edges, connected parts, largest part's nodes
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    imported_at: Mapped[dt.datetime] = _now()


class StreetNode(Base):
    """A junction or end of the street network: nodes are numbered 0..n-1 in each network."""

    __tablename__ = "street_node"
    network_id: Mapped[int] = mapped_column(
        ForeignKey("street_network.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[int] = mapped_column(Integer, primary_key=True)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)


class StreetEdge(Base):
    """A piece of street between two nodes, drawn from its source node to its target node (walked both ways)."""

    __tablename__ = "street_edge"
    __table_args__ = (CheckConstraint("length_m >= 0", name="length_nonnegative"),)
    network_id: Mapped[int] = mapped_column(
        ForeignKey("street_network.id", ondelete="CASCADE"), primary_key=True
    )
    edge: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[int] = mapped_column(Integer)
    target: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[float] = mapped_column(Float)
    highway: Mapped[str | None] = mapped_column(String(40))  # the OSM highway tag or the source's kind
    # read whole, by network: no spatial index
    geom: Mapped[Any] = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False)


class CaseRegime(Base):
    """A city's own regime for cases: the periods its law sets and its time zone (none: England's periods)."""

    __tablename__ = "case_regime"
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    # {"acv_decision": {"amount": 8, "unit": "weeks", "start_day_counts": false}, ...} (app/services/cases/rules.py)
    periods: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[dt.datetime] = _now()


class CommunityCase(Base):
    """A community-rights process on an asset (the table is not called `case`: CASE is an SQL keyword). Its stage
    and deadlines are not stored: they follow from its events, the city's regime and the calendar."""

    __tablename__ = "community_case"
    __table_args__ = (
        CheckConstraint(_in("kind", CASE_KINDS), name="kind_known"),
        CheckConstraint(_in("community_body_kind", COMMUNITY_BODY_KINDS), name="community_body_kind_known"),
        Index("ix_community_case_city_id_id", "city_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    # an asset with cases is not deleted with them: the record of a legal process outlives a map entry
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str | None] = mapped_column(String(100))  # the council's own reference
    community_body_name: Mapped[str] = mapped_column(String(300))
    community_body_kind: Mapped[str] = mapped_column(String(40))
    community_body_contact: Mapped[str | None] = mapped_column(Text)  # private: never in the public register
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[int | None] = mapped_column(Integer)  # audit reference to app_user, no foreign key
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class CaseEvent(Base):
    """One dated event of a case (nominated, listed, notice of sale, ...), in the order recorded."""

    __tablename__ = "case_event"
    __table_args__ = (
        CheckConstraint(_in("kind", ALL_EVENT_KINDS), name="kind_known"),
        Index("ix_case_event_case_id_id", "case_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("community_case.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    to_community_interest_group: Mapped[bool] = mapped_column(Boolean, server_default="false")
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(Integer)  # audit reference to app_user, no foreign key
    recorded_at: Mapped[dt.datetime] = _now()


class CaseDocument(Base):
    """What is known about a document of a case (the file itself lives wherever the council or group keeps it)."""

    __tablename__ = "case_document"
    __table_args__ = (
        CheckConstraint(_in("document_kind", CASE_DOCUMENT_KINDS), name="document_kind_known"),
        CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size_nonnegative"),
        Index("ix_case_document_case_id_id", "case_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("community_case.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    document_kind: Mapped[str] = mapped_column(String(30))
    document_date: Mapped[dt.date | None] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    public: Mapped[bool] = mapped_column(Boolean, server_default="false")
    added_by: Mapped[int | None] = mapped_column(Integer)
    added_at: Mapped[dt.datetime] = _now()


class ServiceOffer(Base):
    """One service an asset offers, for the directory (docs/DIRECTORY.md): cost, eligibility, languages,
    accessibility, schedule (OSM opening_hours) and how to book; versioned, with history kind 'service_offers'."""

    __tablename__ = "service_offer"
    __table_args__ = (
        CheckConstraint(_in("cost_kind", ("free", "fixed", "range")), name="cost_kind_known"),
        CheckConstraint(
            f"cost_period IS NULL OR {_in('cost_period', ('session', 'month'))}", name="cost_period_known"
        ),
        CheckConstraint(
            "(cost_kind = 'free' AND cost_min IS NULL AND cost_max IS NULL AND cost_period IS NULL)"
            " OR (cost_kind = 'fixed' AND cost_min IS NOT NULL AND cost_min >= 0 AND cost_max IS NULL"
            " AND cost_period IS NOT NULL AND currency IS NOT NULL)"
            " OR (cost_kind = 'range' AND cost_min IS NOT NULL AND cost_max IS NOT NULL AND 0 <= cost_min"
            " AND cost_min <= cost_max AND cost_period IS NOT NULL AND currency IS NOT NULL)",
            name="cost_consistent",
        ),
        CheckConstraint(
            "sessions_per_month IS NULL OR (sessions_per_month > 0 AND sessions_per_month <= 100)",
            name="sessions_range",
        ),
        CheckConstraint(
            "(min_age IS NULL OR min_age BETWEEN 0 AND 130) AND (max_age IS NULL OR max_age BETWEEN 0 AND 130)"
            " AND (min_age IS NULL OR max_age IS NULL OR min_age <= max_age)",
            name="age_range",
        ),
        Index("ix_service_offer_city_id_id", "city_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(Integer)  # the asset's city, kept here for the city's directory
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("service_type.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # free; fixed (cost_min per cost_period); range (cost_min to cost_max per cost_period)
    cost_kind: Mapped[str] = mapped_column(String(10), server_default="free")
    cost_period: Mapped[str | None] = mapped_column(String(10))
    cost_min: Mapped[Any | None] = mapped_column(Numeric(10, 2))
    cost_max: Mapped[Any | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))  # ISO 4217
    sessions_per_month: Mapped[float | None] = mapped_column(
        Float
    )  # turns a per-session price into a month's
    cost_note: Mapped[str | None] = mapped_column(Text)
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    population_group: Mapped[str | None] = mapped_column(String(32))
    residency_required: Mapped[bool] = mapped_column(Boolean, server_default="false")
    referral_required: Mapped[bool] = mapped_column(Boolean, server_default="false")
    eligibility_note: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list[str]] = mapped_column(
        ARRAY(String(35)), server_default=text("'{}'::varchar[]"), nullable=False
    )  # BCP 47 tags
    accessibility: Mapped[str | None] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)  # OpenStreetMap opening_hours syntax
    booking: Mapped[str | None] = mapped_column(Text)
    booking_url: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[int | None] = mapped_column(Integer)  # audit reference to app_user, no foreign key
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


# --- Citizen budgets (docs/BUDGETS.md) ---


class BudgetRound(Base):
    """A participatory-budgeting round of a city: its scope, amount and the dates its phases start."""

    __tablename__ = "budget_round"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "proposals_at < review_at AND review_at < voting_at AND voting_at < results_at",
            name="phases_ordered",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # the neighbourhoods in scope (empty: the whole city); ids, checked when set
    neighbourhood_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{}'"))
    amount: Mapped[int] = mapped_column(BigInteger)  # whole units of `currency`
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")
    limit_to_budget: Mapped[bool] = mapped_column(Boolean, server_default="false")
    proposals_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    review_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    voting_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    results_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(Integer)  # audit reference to app_user, no foreign key
    created_at: Mapped[dt.datetime] = _now()


class BudgetProposal(Base):
    """A proposal of a round: what, what it costs, the service it adds and where (a point or a neighbourhood)."""

    __tablename__ = "budget_proposal"
    __table_args__ = (
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="point_whole"),
        Index("ix_budget_proposal_round_id_id", "round_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[int] = mapped_column(BigInteger)
    service_type_id: Mapped[int | None] = mapped_column(ForeignKey("service_type.id", ondelete="SET NULL"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    neighbourhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhood.id", ondelete="SET NULL"))
    submitted_by: Mapped[int | None] = mapped_column(Integer)  # audit reference to app_user, no foreign key
    for_resident: Mapped[bool] = mapped_column(
        Boolean, server_default="false"
    )  # an organiser's on a paper form
    feasible: Mapped[bool | None] = mapped_column(Boolean)
    feasibility_reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = _now()


class BudgetVotingCode(Base):
    """A one-time voting code handed out with a paper ballot; only its SHA-256 is stored."""

    __tablename__ = "budget_voting_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _now()


class BudgetBallot(Base):
    """One approval ballot: of a resident account or of a voting code, changeable until voting closes."""

    __tablename__ = "budget_ballot"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", name="uq_budget_ballot_round_user"),
        UniqueConstraint("code_id", name="uq_budget_ballot_code"),
        CheckConstraint("(user_id IS NULL) <> (code_id IS NULL)", name="one_voter"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("budget_round.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("budget_voting_code.id", ondelete="CASCADE"))
    approvals: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{}'"))
    cast_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class Commitment(Base):
    """A resource given to a need: how much, when, the stage it has reached and what it achieved (docs/MATCHING.md).
    The resource's remaining quantity is its quantity less what its commitments that are not cancelled hold."""

    __tablename__ = "commitment"
    __table_args__ = (
        CheckConstraint(_in("stage", COMMITMENT_STAGES), name="stage_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="date_order"),
        CheckConstraint("hours_given IS NULL OR hours_given >= 0", name="hours_nonnegative"),
        CheckConstraint("people_helped IS NULL OR people_helped >= 0", name="people_nonnegative"),
        Index("ix_commitment_city_id_id", "city_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(12), server_default="proposed")
    hours_given: Mapped[float | None] = mapped_column(Float)
    people_helped: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # when it reached `done`
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[int | None] = mapped_column(Integer)  # audit reference to app_user, no foreign key
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
