"""Tables of the 相談記録: residents, conversations and their transcript, tickets and what staff do with them.

Every table is declared here so that one Alembic history covers the whole schema. ORM objects stop in the
``routing`` package and the web edges; other packages receive plain values.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.db import Base, utcnow


class TicketStatus(enum.StrEnum):
    """The four states a consultation goes through on the desk."""

    NEW = "新規"
    IN_PROGRESS = "対応中"
    COLLABORATION = "多機関協働"
    CLOSED = "終結"


class Urgency(enum.StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


class Role(enum.StrEnum):
    STAFF = "staff"
    # 相談支援包括化推進員 and other 多機関協働 coordinators: see complex and escalated cases.
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Channel(enum.StrEnum):
    LINE = "line"
    WEB = "web"


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class Sender(enum.StrEnum):
    RESIDENT = "resident"
    BOT = "bot"
    STAFF = "staff"
    SYSTEM = "system"


class ContactMethod(enum.StrEnum):
    LINE = "line"
    PHONE = "phone"
    VISIT = "visit"
    WEB = "web"


class MeetingKind(enum.StrEnum):
    """重層的支援会議 (held with the person's consent) or 支援会議 (without it, under 守秘義務)."""

    WITH_CONSENT = "with_consent"
    WITHOUT_CONSENT = "without_consent"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class Resident(Base):
    """A person who consulted. The LINE user id is kept only as a keyed hash (for lookup) and encrypted (for push)."""

    __tablename__ = "resident"
    __table_args__ = (UniqueConstraint("channel", "subject_hash", name="uq_resident_channel_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    subject_hash: Mapped[str] = mapped_column(String(128))
    line_user_id_enc: Mapped[str | None] = mapped_column(Text, default=None)
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(back_populates="resident")


class Conversation(Base):
    """One intake conversation; its messages are the transcript."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), index=True)
    pack: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(64), default=None)

    resident: Mapped[Resident] = relationship(back_populates="conversations")
    messages: Mapped[list[Message]] = relationship(back_populates="conversation", order_by="Message.id")


class Message(Base):
    """One message of a transcript, in or out. Stored before anything else is done with it."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation_created", "conversation_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    sender: Mapped[Sender] = mapped_column(_enum(Sender, "sender"))
    # text, postback, sticker, image, video, audio, file, location, follow, unfollow, quick_reply...
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # LINE's webhookEventId for inbound events: the database-level guard against double processing.
    line_event_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Ticket(Base):
    """A routed consultation: what triage understood, where it went and what the window did with it."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_window_status", "window_id", "status"),
        Index("ix_ticket_pack_created", "pack", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    pack: Mapped[str] = mapped_column(String(64))
    knowledge_version: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("resident.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id", ondelete="SET NULL"))
    # Triage: fields as a list of Field values (介護, 障害, 子ども, 困窮, 狭間).
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    crisis_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency, "urgency"), default=Urgency.NORMAL)
    # Why the bot decided what it did: triage evidence and the routing reasons, as JSON.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    routing_reason: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    # Consent to share with related agencies (None: not asked, e.g. an urgent hand-off).
    consent: Mapped[bool | None] = mapped_column(Boolean, default=None)
    contact_method: Mapped[ContactMethod | None] = mapped_column(_enum(ContactMethod, "contact_method"))
    contact_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    area: Mapped[str | None] = mapped_column(String(64), default=None)
    window_id: Mapped[str] = mapped_column(String(64))
    # For 多機関協働: the other windows involved (ids in the pack).
    related_window_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    meeting_kind: Mapped[MeetingKind | None] = mapped_column(_enum(MeetingKind, "meeting_kind"), default=None)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[TicketStatus] = mapped_column(
        _enum(TicketStatus, "ticket_status"), default=TicketStatus.NEW
    )
    outcome: Mapped[str | None] = mapped_column(Text, default=None)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    resident: Mapped[Resident | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(Base):
    """The history of a ticket: created, accepted, assigned, transferred, escalated, noted, replied, closed."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Assignment(Base):
    """Which window (and staff member) holds a ticket, over time; transfers end one and start another."""

    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    window_id: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Escalation(Base):
    """A case taken to 多機関協働 and the meeting it goes to, chosen by the person's consent."""

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    meeting_kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind, "meeting_kind"))
    meeting_name: Mapped[str] = mapped_column(String(128))
    # Without consent: the 支援会議 runs under 守秘義務 (社会福祉法106条の6); the note says so on the record.
    confidentiality_note: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Note(Base):
    """An internal note on a ticket (never shown to the resident)."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    """Who read or changed what, and when (閲覧・変更の記録). Also refused attempts."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ticket_created", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    login: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(Integer, default=None)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffUser(Base):
    """A staff account of one or more windows (相談窓口) of a pack."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.STAFF)
    pack: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    windows: Mapped[list[StaffWindow]] = relationship(cascade="all, delete-orphan")

    @property
    def window_ids(self) -> list[str]:
        return [w.window_id for w in self.windows]


class StaffWindow(Base):
    __tablename__ = "staff_window"
    __table_args__ = (UniqueConstraint("staff_id", "window_id", name="uq_staff_window_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    window_id: Mapped[str] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token for ``/api/v1``; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Outbox(Base):
    """Messages to push to a resident on LINE: a LINE outage delays a reply, never loses it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    # LINE message objects (dicts as the SDK's ``to_dict`` gives them), 1 to 5.
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # X-Line-Retry-Key: the same UUID on every attempt, so LINE delivers once.
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
