"""The enabled instruments the feed subscribes to, read from PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from feed.quotes import InstrumentSpec
from models import Instrument
from models.session import engine_for


def load_enabled(database_url: str) -> list[InstrumentSpec]:
    """Every enabled instrument, oldest first (the subscription order when MD_WS_SYMBOLS_MAX cuts)."""
    with Session(engine_for(database_url)) as session:
        rows = session.execute(select(Instrument).where(Instrument.enabled.is_(True)).order_by(Instrument.id)).scalars()
        return [
            InstrumentSpec(
                symbol=row.symbol,
                provider_symbol=row.provider_symbol,
                digits=row.digits,
                default_spread=row.default_spread,
                spread_markup=row.spread_markup,
                kind=row.kind,
                max_quote_age_s=row.max_quote_age_s,
                sessions=dict(row.sessions or {}),
            )
            for row in rows
        ]
