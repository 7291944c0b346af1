"""Declarative base with a naming convention, and column types shared by the models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money in account currency: 2 minor units are kept, more precision for rates and sums.
Money = Annotated[Decimal, mapped_column(Numeric(20, 2))]
Price = Annotated[Decimal, mapped_column(Numeric(24, 10))]
Volume = Annotated[Decimal, mapped_column(Numeric(18, 4))]
BigId = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
Created = Annotated[datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True))]
Json = Annotated[dict[str, Any], mapped_column(JSONB, nullable=False, server_default="{}")]
Str32 = Annotated[str, mapped_column(String(32))]
Str64 = Annotated[str, mapped_column(String(64))]
Str255 = Annotated[str, mapped_column(String(255))]


class Base(DeclarativeBase):
    """Base of every model; metadata carries the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
