"""Risk questionnaires (versioned), assessments, products and recommendations."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so

from crm.models.base import Base, utcnow
from crm.models.user import User


class Questionnaire(Base):
    """One version of the risk questionnaire; published versions are never edited."""

    __tablename__ = "questionnaires"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(120))
    # Lowest total score of C2..C5; anything below c2_min is C1.
    c2_min: so.Mapped[int]
    c3_min: so.Mapped[int]
    c4_min: so.Mapped[int]
    c5_min: so.Mapped[int]
    active: so.Mapped[bool] = so.mapped_column(default=False)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    questions: so.Mapped[list[Question]] = so.relationship(
        back_populates="questionnaire", order_by="Question.position", cascade="all, delete-orphan")

    @property
    def bands(self) -> tuple[int, int, int, int]:
        """Minimum scores of C2, C3, C4, C5."""
        return (self.c2_min, self.c3_min, self.c4_min, self.c5_min)


class Question(Base):
    """A question of one questionnaire version."""

    __tablename__ = "questions"
    __table_args__ = (sa.UniqueConstraint("questionnaire_id", "position", name="uq_questions_position"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    questionnaire_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("questionnaires.id"))
    position: so.Mapped[int]
    text: so.Mapped[str] = so.mapped_column(sa.String(300))

    questionnaire: so.Mapped[Questionnaire] = so.relationship(back_populates="questions")
    options: so.Mapped[list[QuestionOption]] = so.relationship(
        back_populates="question", order_by="QuestionOption.position", cascade="all, delete-orphan")


class QuestionOption(Base):
    """An answer option with its score; some answers put the investor in the lowest category."""

    __tablename__ = "question_options"
    __table_args__ = (sa.UniqueConstraint("question_id", "position", name="uq_question_options_position"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    question_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("questions.id"))
    position: so.Mapped[int]
    text: so.Mapped[str] = so.mapped_column(sa.String(200))
    score: so.Mapped[int]
    lowest_category: so.Mapped[bool] = so.mapped_column(default=False)

    question: so.Mapped[Question] = so.relationship(back_populates="options")


class AssessmentDraft(Base):
    """Answers given so far, kept server-side so a dropped connection loses nothing."""

    __tablename__ = "assessment_drafts"
    __table_args__ = (sa.UniqueConstraint("client_id", "questionnaire_id", name="uq_assessment_drafts_client"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    questionnaire_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("questionnaires.id"))
    answers: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)  # {question id: option id}
    updated_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class SuitabilityAssessment(Base):
    """A completed risk assessment: answers, score, level and when it expires."""

    __tablename__ = "suitability_assessments"
    __table_args__ = (
        sa.Index("ix_suitability_assessments_client", "client_id", "assessed_at"),
        sa.Index("ix_suitability_assessments_expires", "expires_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    questionnaire_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("questionnaires.id"))
    answers: so.Mapped[dict] = so.mapped_column(sa.JSON)
    score: so.Mapped[int]
    level: so.Mapped[int]  # 1..5 for C1..C5
    lowest_category: so.Mapped[bool] = so.mapped_column(default=False)
    assessor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    assessed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[datetime]

    assessor: so.Mapped[User] = so.relationship()
    questionnaire: so.Mapped[Questionnaire] = so.relationship()


class Product(Base):
    """A product or service with its risk rating R1..R5."""

    __tablename__ = "products"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    issuer: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    risk: so.Mapped[int]  # 1..5 for R1..R5
    active: so.Mapped[bool] = so.mapped_column(default=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class Recommendation(Base):
    """A product recommended to a client, with the suitability opinion and any confirmation."""

    __tablename__ = "recommendations"
    __table_args__ = (
        sa.Index("ix_recommendations_client", "client_id", "created_at"),
        sa.Index("ix_recommendations_created", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    client_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clients.id"))
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("products.id"))
    manager_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    visit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("visit_logs.id"))
    assessment_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("suitability_assessments.id"))
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20))  # match / mismatch
    reasons: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    investor_type: so.Mapped[str] = so.mapped_column(sa.String(20))
    client_level: so.Mapped[int | None]
    product_risk: so.Mapped[int]
    warning_given: so.Mapped[bool] = so.mapped_column(default=False)
    confirmation_method: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    confirmation_ref: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    confirmed_at: so.Mapped[datetime | None]
    recording_ref: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    product: so.Mapped[Product] = so.relationship()
    manager: so.Mapped[User] = so.relationship()
