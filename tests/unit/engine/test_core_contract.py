"""The core and the contract agree: every refusal code the rules can give is a documented code,
and every command type of the contract has a handler."""

from __future__ import annotations

import re
from pathlib import Path

from engine import contracts
from engine.core.commands import _PARSERS
from engine.core.engine import _HANDLERS

CORE = Path(__file__).resolve().parents[3] / "engine" / "core"


def test_every_rejection_code_of_the_core_is_in_the_contract():
    codes = set()
    for path in CORE.glob("*.py"):
        codes.update(re.findall(r'Rejection\(\s*"([a-z_]+)"', path.read_text()))
    assert codes, "the pattern must find the codes"
    assert codes - contracts.REJECT_CODES == set()


def test_every_command_type_has_a_parser_and_a_handler():
    assert set(_PARSERS) == contracts.COMMAND_TYPES
    assert set(_HANDLERS) | {contracts.OPEN_ACCOUNT} == contracts.COMMAND_TYPES


def test_payload_helpers_build_what_the_core_parses():
    from engine.core.commands import BalanceOp, HoldFunds, OpenAccount, ReleaseHold, SetAccount, parse

    assert isinstance(parse("open_account", contracts.open_account_payload(1, "demo", "USD", 50, "100")), OpenAccount)
    assert isinstance(parse("balance_op", contracts.balance_op_payload("deposit", "10.00", "x", "c")), BalanceOp)
    assert isinstance(parse("hold_funds", contracts.hold_funds_payload("h", "5")), HoldFunds)
    assert isinstance(parse("release_hold", contracts.release_hold_payload("h", True)), ReleaseHold)
    parsed = parse("set_account", contracts.set_account_payload(leverage=30, trading_rights="close_only"))
    assert isinstance(parsed, SetAccount) and parsed.leverage == 30 and parsed.trading_rights == "close_only"


def test_http_statuses_of_rejections():
    assert contracts.http_status_for("insufficient_margin") == 422
    assert contracts.http_status_for("position_not_found") == 404
    assert contracts.http_status_for("invalid_request") == 400


def test_trade_and_ledger_rows_are_laid_out_like_their_tables() -> None:
    """engine.persist writes a TradeRow / LedgerRow as its fields in order: they must stay the
    tables' column lists."""
    from engine.core.journal import LedgerRow, TradeRow
    from engine.persist import _LEDGER_COLUMNS, _TRADE_COLUMNS

    assert list(TradeRow._fields) == [c.strip() for c in _TRADE_COLUMNS.split(",")]
    assert list(LedgerRow._fields) == [c.strip() for c in _LEDGER_COLUMNS.split(",")]
