"""Accounts and money: opening, balance operations, holds for withdrawals, account settings."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.core import liquidation
from engine.core.commands import BalanceOp, HoldFunds, OpenAccount, Rejection, ReleaseHold, SetAccount
from engine.core.context import Ctx
from engine.core.entities import Account, Hold
from engine.core.journal import LedgerRow
from engine.core.money import HUNDRED, ZERO, fmt, quantum, round_money
from engine.core.views import hold_view, ledger_view

LEVEL_QUANTUM = Decimal("0.01")

if TYPE_CHECKING:
    from engine.core.engine import TradingCore

Outcome = dict[str, Any] | Rejection


def account_number(account_id: int, account_type: str) -> str:
    """Live accounts start with 1, demo accounts with 9; the rest is the id (zero-padded to 7)."""
    return ("1" if account_type == "live" else "9") + f"{account_id:07d}"


def _money_ok(amount: Decimal, currency: str) -> bool:
    return round_money(amount, currency) == amount


def open_account(core: TradingCore, ctx: Ctx, account_id: int, cmd: OpenAccount, user_exists: bool) -> Outcome:
    if account_id in core.accounts:
        return Rejection("account_exists", f"account {account_id} exists already")
    if not user_exists:
        return Rejection("unknown_user", f"user {cmd.user_id} does not exist")
    if not core.quotes.can_convert("USD", cmd.currency):
        return Rejection("invalid_request", f"currency {cmd.currency} is not supported")
    deposit = cmd.initial_deposit
    if deposit is not None and not _money_ok(deposit, cmd.currency):
        return Rejection("invalid_request", "initial_deposit has too many decimals")
    account = Account(
        id=account_id,
        user_id=cmd.user_id,
        number=account_number(account_id, cmd.type),
        type=cmd.type,
        currency=cmd.currency,
        balance=round_money(ZERO, cmd.currency),
        credit=round_money(ZERO, cmd.currency),
        held=round_money(ZERO, cmd.currency),
        leverage=cmd.leverage,
        margin_call_level=Decimal("100.00"),
        stop_out_level=Decimal("50.00"),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    core.accounts[account_id] = account
    core.changes.new_accounts[account_id] = account
    core.figures_due.add(account_id)
    core.audit(
        ctx,
        "account.open",
        "success",
        "account",
        account_id,
        {
            "user_id": cmd.user_id,
            "type": cmd.type,
            "currency": cmd.currency,
            "leverage": cmd.leverage,
            "initial_deposit": fmt(deposit),
        },
    )
    if deposit:
        row = core.post_ledger(
            ctx, account, "deposit", deposit, external_id=f"initial:{account_id}", comment="initial deposit"
        )
        _balance_changed(core, ctx, account, row)
    return {"account": core.account_result(account, ctx.now)}


def _balance_changed(core: TradingCore, ctx: Ctx, account: Account, row: LedgerRow | None) -> None:
    view = ledger_view(row) if row is not None else None
    core.emit(
        account.id,
        "balance",
        ledger=view,
        balance=fmt(account.balance),
        credit=fmt(account.credit),
        held=fmt(account.held),
    )
    if row is not None:
        core.webhook(
            ctx,
            "balance.updated",
            {
                "account_id": account.id,
                "user_id": account.user_id,
                "op": row.kind,
                "ledger": view,
                "balance": fmt(account.balance),
                "credit": fmt(account.credit),
            },
        )


def _withdrawable(core: TradingCore, account: Account) -> Decimal:
    """What may leave the account: free margin, and never more than the unreserved balance."""
    fig = core.figures(account)
    return max(ZERO, min(fig.free_margin, account.balance - account.held))


def balance_op(core: TradingCore, ctx: Ctx, account: Account, cmd: BalanceOp) -> Outcome:
    previous = core.external.get((account.id, cmd.op, cmd.external_id))
    if previous is not None:
        return {"duplicate": True, "ledger": ledger_view(previous), "account": core.account_result(account, ctx.now)}
    amount = cmd.amount
    if not _money_ok(amount, account.currency) or amount == ZERO:
        return Rejection("invalid_request", f"amount must be non-zero with at most {quantum(2)} precision")
    if cmd.op in ("deposit", "withdrawal") and amount < ZERO:
        return Rejection("invalid_request", f"a {cmd.op} amount must be positive")
    if cmd.op == "withdrawal" and amount > _withdrawable(core, account):
        return Rejection("insufficient_funds", "the withdrawal exceeds the free margin")
    if (
        cmd.op == "credit"
        and amount < ZERO
        and (-amount > account.credit or -amount > core.figures(account).free_margin)
    ):
        return Rejection("insufficient_funds", "cannot remove more credit than the account has free")
    if cmd.op == "credit":
        row = core.post_ledger(ctx, account, "credit", ZERO, amount, external_id=cmd.external_id, comment=cmd.comment)
    else:
        signed = -amount if cmd.op == "withdrawal" else amount
        row = core.post_ledger(ctx, account, cmd.op, signed, external_id=cmd.external_id, comment=cmd.comment)
    _balance_changed(core, ctx, account, row)
    core.audit(
        ctx,
        f"balance.{cmd.op}",
        "success",
        "account",
        account.id,
        {"amount": fmt(amount), "external_id": cmd.external_id, "ledger_id": row.id},
    )
    liquidation.evaluate(core, account, ctx)
    return {"ledger": ledger_view(row), "account": core.account_result(account, ctx.now)}


def hold_funds(core: TradingCore, ctx: Ctx, account: Account, cmd: HoldFunds) -> Outcome:
    existing = core.holds.get((account.id, cmd.hold_id))
    if existing is not None:
        return {"duplicate": True, "hold": hold_view(existing), "account": core.account_result(account, ctx.now)}
    if cmd.amount <= ZERO or not _money_ok(cmd.amount, account.currency):
        return Rejection("invalid_request", "amount must be positive money")
    if cmd.amount > _withdrawable(core, account):
        return Rejection("insufficient_funds", "the amount exceeds the free margin")
    hold = Hold(account.id, cmd.hold_id, cmd.amount, "active", ctx.command_id, None, ctx.now, ctx.now)
    core.holds[(account.id, cmd.hold_id)] = hold
    core.changes.holds[(account.id, cmd.hold_id)] = hold
    account.held += cmd.amount
    core.touch(account, ctx.now)
    _balance_changed(core, ctx, account, None)
    core.audit(ctx, "funds.hold", "success", "account", account.id, {"hold_id": cmd.hold_id, "amount": fmt(cmd.amount)})
    return {"hold": hold_view(hold), "account": core.account_result(account, ctx.now)}


def release_hold(core: TradingCore, ctx: Ctx, account: Account, cmd: ReleaseHold) -> Outcome:
    hold = core.holds.get((account.id, cmd.hold_id))
    if hold is None:
        return Rejection("hold_not_found", f"no hold {cmd.hold_id} on this account")
    if hold.status != "active":
        return {"duplicate": True, "hold": hold_view(hold), "account": core.account_result(account, ctx.now)}
    account.held -= hold.amount
    hold.status, hold.updated_at = ("settled" if cmd.settle else "released"), ctx.now
    core.changes.holds[(account.id, hold.hold_id)] = hold
    result: dict[str, Any] = {}
    if cmd.settle:
        row = core.post_ledger(
            ctx, account, "withdrawal", -hold.amount, external_id=hold.hold_id, comment="withdrawal settled from hold"
        )
        hold.ledger_id = row.id
        result["ledger"] = ledger_view(row)
        _balance_changed(core, ctx, account, row)
    else:
        core.touch(account, ctx.now)
        _balance_changed(core, ctx, account, None)
    core.audit(
        ctx,
        "funds.settle" if cmd.settle else "funds.release",
        "success",
        "account",
        account.id,
        {"hold_id": hold.hold_id, "amount": fmt(hold.amount)},
    )
    liquidation.evaluate(core, account, ctx)
    return {**result, "hold": hold_view(hold), "account": core.account_result(account, ctx.now)}


def set_account(core: TradingCore, ctx: Ctx, account: Account, cmd: SetAccount) -> Outcome:
    margin_call = cmd.margin_call_level if cmd.margin_call_level is not None else account.margin_call_level
    stop_out = cmd.stop_out_level if cmd.stop_out_level is not None else account.stop_out_level
    if not (ZERO <= stop_out < margin_call <= HUNDRED * 10) or round(stop_out, 2) != stop_out:
        return Rejection("invalid_request", "levels must satisfy 0 <= stop_out_level < margin_call_level <= 1000")
    if round(margin_call, 2) != margin_call:
        return Rejection("invalid_request", "levels have at most 2 decimals")
    before = {
        "leverage": account.leverage,
        "trading_rights": account.trading_rights,
        "margin_call_level": fmt(account.margin_call_level),
        "stop_out_level": fmt(account.stop_out_level),
    }
    if cmd.leverage is not None and cmd.leverage != account.leverage:
        _relever(core, account, cmd.leverage, ctx.now)
    if cmd.trading_rights is not None:
        account.trading_rights = cmd.trading_rights
    account.margin_call_level = margin_call.quantize(LEVEL_QUANTUM)
    account.stop_out_level = stop_out.quantize(LEVEL_QUANTUM)
    core.touch(account, ctx.now)
    after = {
        "leverage": account.leverage,
        "trading_rights": account.trading_rights,
        "margin_call_level": fmt(account.margin_call_level),
        "stop_out_level": fmt(account.stop_out_level),
    }
    core.audit(ctx, "account.update", "success", "account", account.id, {"before": before, "after": after})
    liquidation.evaluate(core, account, ctx)
    return {"account": core.account_result(account, ctx.now)}


def _relever(core: TradingCore, account: Account, leverage: int, now: int) -> None:
    """Change leverage: every open position's margin is recomputed at the new leverage."""
    positions = list(account.positions.values())
    for position in positions:
        core.detach(position)
    account.leverage = leverage
    for position in positions:
        inst = core.instruments[position.symbol]
        quote_margin = core.margin_quote(account, inst, position.volume, position.open_price)
        margin = core.quotes.convert_cost(quote_margin, inst.quote_currency, account.currency)
        if margin is not None:
            position.margin = round_money(margin, account.currency)
        position.updated_at = now
        core.attach(position)
        core.changes.positions[position.id] = position
