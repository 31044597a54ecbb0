"""Personalized-service plans (个性化服务): templates by tier, one active plan per client, its items.

Each occurrence of an item becomes one follow-up (source "plan", key "plan-item:<item>:<date>"),
so the plan's progress is read from the follow-ups themselves.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.client import Client
from crm.models.suitability import Product
from crm.models.tier import Tier
from crm.models.user import User


class PlanItemKind(enum.StrEnum):
    """The services a plan can promise."""

    REVIEW_CALL = "review_call"          # 定期回访
    RESEARCH_PUSH = "research_push"      # 资讯推送
    SEMINAR = "seminar"                  # 投资讲座
    PORTFOLIO_REVIEW = "portfolio_review"  # 组合检视
    CARE = "care"                        # 生日/节日关怀
    PRODUCT = "product"                  # 产品推荐 (through the suitability check)


class PlanStatus(enum.StrEnum):
    """A plan is active until it is ended (replaced or no longer needed)."""

    ACTIVE = "active"
    ENDED = "ended"


class _ItemFields:
    """What a template item and a plan item both say about a service and its timing."""

    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    cadence: so.Mapped[str] = so.mapped_column(sa.String(20))
    every: so.Mapped[int] = so.mapped_column(default=1)
    holidays: so.Mapped[str] = so.mapped_column(sa.String(200), default="")  # comma-separated codes
    title: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    product_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("products.id"))


class PlanTemplate(Base):
    """A starting point for plans, usually one per tier; admins maintain them."""

    __tablename__ = "plan_templates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    tier_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("tiers.id"), index=True)
    goals: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    review_months: so.Mapped[int] = so.mapped_column(default=12)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    tier: so.Mapped[Tier | None] = so.relationship()
    items: so.Mapped[list[PlanTemplateItem]] = so.relationship(
        back_populates="template", order_by="PlanTemplateItem.id", cascade="all, delete-orphan")


class PlanTemplateItem(_ItemFields, Base):
    """A service the template promises; `offset_days` delays its first occurrence after the plan starts."""

    __tablename__ = "plan_template_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    template_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plan_templates.id"), index=True)
    offset_days: so.Mapped[int] = so.mapped_column(default=0)

    template: so.Mapped[PlanTemplate] = so.relationship(back_populates="items")
    product: so.Mapped[Product | None] = so.relationship()


class ServicePlan(Base):
    """One client's plan: goals, review date and items. At most one active plan per client."""

    __tablename__ = "service_plans"
    __table_args__ = (
        sa.Index("uq_service_plans_active", "client_id", unique=True,
                 sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'")),
        sa.Index("ix_service_plans_client", "client_id", "started_on"),
        sa.Index("ix_service_plans_status_review", "status", "review_on"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    template_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("plan_templates.id"))
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=PlanStatus.ACTIVE.value)
    goals: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    started_on: so.Mapped[date]
    review_on: so.Mapped[date]
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    ended_at: so.Mapped[datetime | None]
    ended_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    end_reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    version: so.Mapped[int] = so.mapped_column(default=1)

    client: so.Mapped[Client] = so.relationship()
    template: so.Mapped[PlanTemplate | None] = so.relationship()
    created_by: so.Mapped[User] = so.relationship(foreign_keys=[created_by_id])
    items: so.Mapped[list[PlanItem]] = so.relationship(back_populates="plan", order_by="PlanItem.id")

    __mapper_args__ = {"version_id_col": version}


class PlanItem(_ItemFields, Base):
    """A service promised in a plan; removed items stay (inactive) so their history still reads."""

    __tablename__ = "plan_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    plan_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("service_plans.id"), index=True)
    starts_on: so.Mapped[date]
    active: so.Mapped[bool] = so.mapped_column(default=True)
    removed_at: so.Mapped[datetime | None]

    plan: so.Mapped[ServicePlan] = so.relationship(back_populates="items")
    product: so.Mapped[Product | None] = so.relationship()
