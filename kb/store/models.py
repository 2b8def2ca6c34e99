"""SQLAlchemy models (1.4, written in 2.0 style).

Figures live in `Measure.benefits` as structured data ({what, amount, unit, note});
they are formatted for readers by `kb.format`, never stored as prose.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, ForeignKey, Integer, String, Table, Text, case
from sqlalchemy.orm import declarative_base, relationship

from kb import families

Base = declarative_base()

FAMILIES = families.FAMILIES  # the policy families, from kb/rules/families.yaml
CONFIDENCE_LEVELS = ("high", "medium", "low")
# A staff member's role (StaffMember.role); a DingTalk sender with none of them is "public".
STAFF_ROLES = ("staff", "admin")
# How a firm gets a measure: it applies; it gets it without applying; it claims it when filing taxes; not a firm's to get.
APPLIES_BY = ("申报", "免申即享", "申报纳税时直接享受", "不面向企业")
# A document's status: the final text, or a consultation draft (never answered as if it were in force).
DOCUMENT_STATUSES = ("正式", "征求意见稿")
DRAFT = "征求意见稿"
# application_window.recurs: a standing programme with a call every year, whose latest edition still speaks for it.
YEARLY = "yearly"
RECURRENCES = (YEARLY,)
# What a source page is: a government page, mainstream media, a repost by a known body (a university, a local
# office, a consultancy), or a mirror that copies pages without saying whose they are.
SOURCE_KINDS = ("official", "media", "repost", "mirror")
NOT_FOUND = "未找到"

document_sources = Table(
    "document_sources",
    Base.metadata,
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)

measure_sources = Table(
    "measure_sources",
    Base.metadata,
    Column("measure_id", ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Source(Base):
    """A URL a document or measure is taken from, with its kind (official, media, mirror, …)."""

    __tablename__ = "sources"

    id = Column(Integer, primary_key=True)
    url = Column(String(1000), nullable=False, unique=True)
    title = Column(String(500))
    publisher = Column(String(200))
    kind = Column(String(20))  # one of SOURCE_KINDS; None when not yet graded

    def __repr__(self) -> str:
        """The source by its URL: Source('https://…')."""
        return f"Source({self.url!r})"


# Sources are listed official first, then media, reposts, mirrors and ungraded ones, each in the order they were added.
SOURCE_ORDER = [case({kind: rank for rank, kind in enumerate(SOURCE_KINDS)}, value=Source.kind, else_=len(SOURCE_KINDS)),
                Source.id]


class Document(Base):
    """One published policy text (政策文件); each "8+4" edition is its own document."""

    __tablename__ = "documents"

    id = Column(String(80), primary_key=True)
    family = Column(String(40), nullable=False, index=True)
    edition = Column(String(20), nullable=False)
    title = Column(String(300), nullable=False)
    short_name = Column(String(100))
    aliases = Column(JSON, nullable=False, default=list)
    issuer = Column(String(200))
    doc_number = Column(String(100))
    published = Column(Date)
    valid_from = Column(Date)
    valid_to = Column(Date)
    summary = Column(Text, nullable=False)
    structure = Column(JSON, nullable=False, default=dict)
    confidence = Column(String(10), nullable=False, default="high")
    origin = Column(String(20), nullable=False, default="seed")
    # Metadata of the edition (migration 0002): None where no source gives it.
    status = Column(String(20))  # one of DOCUMENT_STATUSES; None reads as 正式
    press_conference = Column(Date)
    articles = Column(Integer)
    lead_departments = Column(JSON)  # list of department names
    co_issuers = Column(JSON)  # list of co-issuing bodies
    sources = relationship(Source, secondary=document_sources, order_by=SOURCE_ORDER, lazy="selectin")
    measures = relationship("Measure", back_populates="document", cascade="all, delete-orphan")


class Measure(Base):
    """One measure (政策点) of a document, with its figures, department and rule."""

    __tablename__ = "measures"

    id = Column(String(80), primary_key=True)
    document_id = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    number = Column(Integer)
    aspect = Column(String(100))
    title = Column(String(300), nullable=False)
    summary = Column(Text, nullable=False)
    outline_only = Column(Boolean, nullable=False, default=False)
    benefits = Column(JSON, nullable=False, default=list)
    department = Column(String(300))
    contact = Column(String(300))
    how_to_apply = Column(Text)
    keywords = Column(JSON, nullable=False, default=list)
    rule = Column(JSON)
    valid_from = Column(Date)
    valid_to = Column(Date)
    confidence = Column(String(10), nullable=False, default="high")
    note = Column(Text)
    # Staff-only: shown to service-team members (DingTalk), never to the public.
    internal_note = Column(Text)
    internal_contact = Column(String(300))
    origin = Column(String(20), nullable=False, default="seed")
    # How and when a firm applies (migration 0002). channel: {name, url, note}; application_window:
    # {from, until, call, source, note} with ISO dates; a name or note of 未找到 says a search found nothing.
    applies_by = Column(String(20))  # one of APPLIES_BY
    channel = Column(JSON)
    application_window = Column(JSON)
    materials = Column(JSON)  # list of documents a firm submits, where public
    document = relationship(Document, back_populates="measures", lazy="joined")
    sources = relationship(Source, secondary=measure_sources, order_by=SOURCE_ORDER, lazy="selectin")


class Revision(Base):
    """Every change to the knowledge base, with what it changed and a snapshot to roll back to."""

    __tablename__ = "revisions"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=_utcnow)
    author = Column(String(100), nullable=False)
    action = Column(String(20), nullable=False)
    message = Column(String(500))
    checksum = Column(String(64))
    changes = Column(JSON, nullable=False, default=dict)
    snapshot = Column(JSON)


class Firm(Base):
    """A firm in the registry admins import, looked up by staff by name or unified social credit code."""

    __tablename__ = "firms"

    credit_code = Column(String(18), primary_key=True)
    name = Column(String(200), nullable=False, index=True)
    facts = Column(JSON, nullable=False, default=dict)
    origin = Column(String(20), nullable=False, default="admin")


class StaffMember(Base):
    """A DingTalk sender known to the service team; unknown senders get public answers only."""

    __tablename__ = "staff_members"

    staff_id = Column(String(100), primary_key=True)
    name = Column(String(100))
    role = Column(String(20), nullable=False, default="staff")  # one of STAFF_ROLES


class AdminToken(Base):
    """A bearer token for the admin API, stored only as a hash."""

    __tablename__ = "admin_tokens"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    token_hash = Column(String(128), nullable=False, unique=True)
    role = Column(String(20), nullable=False)  # viewer | editor
    created_at = Column(DateTime, nullable=False, default=_utcnow)
    revoked = Column(Boolean, nullable=False, default=False)


class AskedQuestion(Base):
    """A question the assistant could not answer, or a hand-off request, for the staff digest."""

    __tablename__ = "asked_questions"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=_utcnow, index=True)
    kind = Column(String(20), nullable=False)  # unanswered | handoff
    channel = Column(String(40), nullable=False)
    sender = Column(String(200))
    text = Column(Text, nullable=False)


class MatchRun(Base):
    """One pass of a changed measure's rule over the firm registry (政策找企业), and its push to the staff robot."""

    __tablename__ = "match_runs"

    id = Column(Integer, primary_key=True)
    revision_id = Column(Integer, nullable=False, index=True)
    measure_id = Column(String(80), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=_utcnow)
    status = Column(String(20), nullable=False)  # done | failed
    error = Column(Text)  # why a failed run failed (for `huiqi kb matches --failed`)
    firms = Column(Integer, nullable=False, default=0)  # firms in the registry when it ran
    counts = Column(JSON, nullable=False, default=dict)  # verdict status → number of firms
    push = Column(String(20))  # None: no staff robot set | sent | failed
    push_error = Column(Text)


class FirmMatch(Base):
    """A registered firm's verdict on a measure, as of the revision that changed the measure's rule."""

    __tablename__ = "firm_matches"

    revision_id = Column(Integer, primary_key=True)
    measure_id = Column(String(80), primary_key=True, index=True)
    credit_code = Column(String(18), primary_key=True)
    name = Column(String(200), nullable=False)
    status = Column(String(20), nullable=False)  # eligible | likely | not_eligible | unknown
    missing = Column(JSON, nullable=False, default=list)  # the firm facts that would decide an unknown
    to_confirm = Column(JSON, nullable=False, default=list)  # the unencoded conditions a likely one leaves open
