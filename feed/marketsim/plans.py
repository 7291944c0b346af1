"""API keys, the plans behind them, and credit accounting per minute and per day."""

from __future__ import annotations

from dataclasses import dataclass, field

PRICING = "https://twelvedata.com/pricing"
MSG_BAD_KEY = (
    "**apikey** parameter is incorrect or not specified. You can get your free API key instantly following "
    "this link: https://twelvedata.com/pricing. If you believe that everything is correct, you can contact us "
    "at https://twelvedata.com/contact/customer"
)
MSG_NOT_FOUND = (
    "**symbol** or **figi** parameter is missing or invalid. Please provide a valid symbol according to API "
    "documentation: https://twelvedata.com/docs#reference-data"
)
MSG_NO_DATA = "No data is available on the specified dates. Try setting different start/end dates."


def msg_not_on_plan(symbol: str) -> str:
    return f"**symbol** {symbol} is not available with your plan. You may select the appropriate plan at {PRICING}"


def msg_minute(used: int, limit: int) -> str:
    return (
        f"You have run out of API credits for the current minute. {used} API credits were used, with the current "
        f"limit being {limit}. Wait for the next minute or consider switching to a higher tier plan at {PRICING}"
    )


def msg_day(used: int, limit: int) -> str:
    return (
        f"You have run out of API credits for the day. {used} API credits were used, with the current limit being "
        f"{limit}. Wait for the next day or consider switching to a higher tier plan at {PRICING}"
    )


def msg_ws_events(count: int) -> str:
    return (
        f"The server received {count} events from you, which exceeds the limit of 100 events per minute. "
        "You may wait for the next minute or contact our technical support to increase the limits."
    )


TRIAL_SYMBOLS = ("EUR/USD", "USD/JPY", "BTC/USD", "ETH/USD", "XAU/USD", "AAPL", "AUD/USD", "SOL/USD")


@dataclass(frozen=True)
class Plan:
    """What a key may do: REST credits, WebSocket access and connections."""

    name: str
    credits_per_minute: int
    credits_per_day: int | None  # None: no daily cap
    ws_access: str  # none | trial | full
    ws_credits: int
    max_connections: int
    trial_symbols: tuple[str, ...] = TRIAL_SYMBOLS
    paid: bool = True  # False: paid-only symbols answer 403


PLANS: dict[str, Plan] = {
    "basic": Plan("basic", 8, 800, "trial", 8, 1, paid=False),
    "grow": Plan("grow", 377, None, "trial", 8, 1),
    "pro": Plan("pro", 1597, None, "full", 1500, 3),
    "ultra": Plan("ultra", 10946, None, "full", 10000, 3),
    "enterprise": Plan("enterprise", 20000, 100000, "full", 10000, 3),
}
DEFAULT_KEYS = {"marketsim": "pro", "demo": "basic"}


@dataclass
class Usage:
    minute: int = -1
    minute_used: int = 0
    day: int = -1
    day_used: int = 0


@dataclass
class KeyRing:
    """The keys the simulator accepts and the credits each has used."""

    keys: dict[str, Plan] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)

    @classmethod
    def with_defaults(cls, extra: dict[str, str] | None = None) -> KeyRing:
        ring = cls()
        for key, plan in {**DEFAULT_KEYS, **(extra or {})}.items():
            ring.add(key, plan)
        return ring

    def add(self, key: str, plan: str | Plan) -> None:
        self.keys[key] = PLANS[plan] if isinstance(plan, str) else plan

    def plan(self, key: str | None) -> Plan | None:
        return self.keys.get(key or "")

    def _usage(self, key: str, now: float) -> Usage:
        u = self.usage.setdefault(key, Usage())
        minute, day = int(now // 60), int(now // 86400)
        if u.minute != minute:
            u.minute, u.minute_used = minute, 0
        if u.day != day:
            u.day, u.day_used = day, 0
        return u

    def charge(self, key: str, cost: int, now: float) -> tuple[int, str] | None:
        """Spend credits; on exhaustion return (429, message) and spend nothing."""
        plan = self.keys[key]
        u = self._usage(key, now)
        if u.minute_used + cost > plan.credits_per_minute:
            return 429, msg_minute(u.minute_used + cost, plan.credits_per_minute)
        if plan.credits_per_day is not None and u.day_used + cost > plan.credits_per_day:
            return 429, msg_day(u.day_used + cost, plan.credits_per_day)
        u.minute_used += cost
        u.day_used += cost
        return None

    def report(self, key: str, now: float) -> dict[str, int | str]:
        """The /api_usage figures of a key."""
        plan = self.keys[key]
        u = self._usage(key, now)
        body: dict[str, int | str] = {
            "current_usage": u.minute_used,
            "plan_limit": plan.credits_per_minute,
        }
        if plan.credits_per_day is not None:
            body.update({"daily_usage": u.day_used, "plan_daily_limit": plan.credits_per_day})
        body["plan_category"] = plan.name
        return body
