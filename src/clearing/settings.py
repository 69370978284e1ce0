"""Settings from the environment (``CLEARING_*``), grouped by concern.

``get_settings()`` is cached; tests call ``get_settings.cache_clear()`` after
changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(".clearing")


class DatabaseSettings(BaseModel):
    #: SQLite file is the embedded default; PostgreSQL by URL in production.
    url: str = f"sqlite:///{DATA_DIR / 'clearing.db'}"
    echo: bool = False
    #: SQLite: how long a writer waits for the lock before failing.
    busy_timeout_ms: int = 10_000
    #: PostgreSQL connection pool per process.
    pool_size: int = 20
    max_overflow: int = 10


class ChainSettings(BaseModel):
    #: embedded (in-process py-evm), anvil (spawned on loopback) or rpc (url + key).
    backend: str = "embedded"
    rpc_url: str | None = None
    #: Operator key for the rpc backend; local backends use their dev accounts.
    private_key: SecretStr | None = None
    #: deployments/<network>.json written by scripts/deploy.py.
    deployment: Path | None = None
    anvil_port: int | None = None
    chain_id: int = 31337
    #: EIP-712 verifyingContract for obligation signatures; default: the house in ``deployment``.
    verifying_contract: str | None = None
    confirmations: int = 0


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    #: The running server, for the `clearing` commands that are its clients (`cycles`, `alerts`, `cover2` ...);
    #: None: ``http://<host>:<port>``. The server itself does not read it.
    url: str | None = None
    #: A member's API key, for the `clearing` commands a member runs against the server (`merchants`); the
    #: server does not read it.
    member_key: SecretStr | None = None
    #: 0x-hex private key that client commands sign with locally (`merchants grant` with the member's address
    #: key, `merchants sign-purchase` with a merchant's); never sent. The server does not read it.
    signing_key: SecretStr | None = None
    #: Bootstrap keys; hashed on first use, never stored in clear.
    operator_key: SecretStr | None = None
    auditor_key: SecretStr | None = None
    max_batch: int = 10_000
    #: Seconds a resolved API key stays cached per process (0: look up every request).
    auth_cache_seconds: float = 5.0
    #: How often each process reads the log of revoked and rotated keys (one query per interval):
    #: a key revoked in another process stops working within this time; in its own, at once.
    #: 0: every request looks (exact across processes, one more query per request).
    auth_change_check_seconds: float = 0.5
    #: A key's last-used time is written at most this often per process.
    key_touch_seconds: float = 60.0
    #: Failed authentications allowed per client address and per key prefix, per process, in the
    #: ``limits`` package's notation; past it, 429 with Retry-After and no ledger query.
    auth_failure_limit: str = "20/minute"
    #: Seconds an unknown, revoked or expired key is remembered as such (no ledger query on a repeat).
    auth_negative_cache_seconds: float = 60.0
    #: Diagnostic switch for benchmarks: 0 hides the velocity history from the risk
    #: rules (isolates its cost); any other value keeps the exact window aggregate.
    history_limit: int = 10_000
    #: Single submissions share transactions (group commit); outcomes are as if sent one by one.
    group_commit: bool = True
    #: Most submissions in one group commit, and groups in flight per process.
    group_commit_max: int = 1000
    group_commit_threads: int = 2
    #: uvicorn worker processes for ``clearing serve`` (more than one: the rpc backend on PostgreSQL, where
    #: every worker plans chain writes and one elected worker sends them).
    workers: int = 1


class CycleSettings(BaseModel):
    #: Seconds between scheduled cut-offs; 0 means only the operator closes cycles.
    cutoff_seconds: int = 0
    #: Time budget for the liquidity-saving solver.
    solver_budget_s: float = 1.5
    fifo: bool = False


class EscrowSettings(BaseModel):
    #: Seconds a tier-C debtor may dispute an order after funding it (the contract allows up to 90 days);
    #: from then on anyone may claim it for the creditor.
    dispute_window_seconds: int = Field(default=3 * 24 * 3600, ge=0, le=90 * 24 * 3600)


class PoolSettings(BaseModel):
    """The credit pool (``services/pool.py``, ``services/pool_keeper.py``; ``docs/pool.md``).

    The borrow rate is set on chain at deployment: base + slope × utilisation, a year (a deployed house
    keeps what its admin last set).
    """

    base_rate_bps: int = Field(default=300, ge=0, le=10_000)
    slope_rate_bps: int = Field(default=1_700, ge=0, le=10_000)
    #: Seconds between the keeper's runs (charge borrowers' interest, pay the withdrawal queue) in the chain
    #: writer's process; 0: off (anyone may still call accrueInterest and processWithdrawals on chain).
    keeper_seconds: int = Field(default=3_600, ge=0)
    #: Members charged per accrueInterest transaction, and queued requests paid per processWithdrawals.
    accrue_batch: int = Field(default=100, ge=1, le=1_000)
    keeper_max_requests: int = Field(default=50, ge=1, le=1_000)


class WriterSettings(BaseModel):
    """The chain writer: the one process that signs and sends the house's transactions (``services/writer.py``)."""

    #: Seconds between the writer's passes over pending outbox rows, and between a waiting request's looks.
    poll_seconds: float = Field(default=0.2, gt=0, le=60)
    #: Seconds a request waits for the writer (in another worker) to mine its row before answering 503.
    wait_seconds: float = Field(default=60.0, gt=0)
    #: Seconds one send waits for a receipt before leaving the row to the writer's next pass.
    receipt_timeout_seconds: float = Field(default=60.0, gt=0)
    #: Seconds a sent transaction may stay unmined before it is replaced (same nonce, fees at least +12.5%).
    replace_after_seconds: float = Field(default=30.0, gt=0)
    #: Sends in a row whose nonce another sender took (resynced from the chain, with backoff) before a pass
    #: leaves the row for the next one.
    nonce_attempts: int = Field(default=8, ge=1, le=100)
    #: A row pending longer is reported stuck: ``GET /health`` (degraded), ``GET /outbox/stuck`` and a warning.
    stuck_seconds: float = Field(default=300.0, gt=0)
    #: Seconds between a worker's attempts to take the writer's lease over (PostgreSQL).
    lease_retry_seconds: float = Field(default=1.0, gt=0)


class TierPolicySettings(BaseModel):
    #: The tier's credit line as basis points of average monthly volume (tier A at most 3000: 30%).
    line_bps: int = Field(ge=0, le=10_000)
    #: An absolute cap on the tier's line (token units); None: only the fraction caps it.
    line_cap: int | None = Field(default=None, ge=0)
    #: Days within which each drawing of credit must be repaid (and the drawn part after a cut).
    repayment_days: int = Field(ge=1)


class CreditSettings(BaseModel):
    #: Seconds between rescorings of every member by the scheduler (each settled cycle rescores too);
    #: 0: only after cycles and on request.
    rescore_seconds: int = Field(default=3600, ge=0)
    #: Months (30-day windows) of history the volume factor and the line average.
    months: int = Field(default=3, ge=1, le=24)
    #: Hysteresis: promote once the score has stayed at threshold + margin for ``promote_after_days``;
    #: demote at threshold − margin, at once.
    promote_margin: int = Field(default=25, ge=0)
    demote_margin: int = Field(default=25, ge=0)
    promote_after_days: int = Field(default=14, ge=0)
    #: New members: this tier and a line of at most ``provisional_line_cap`` and
    #: ``provisional_collateral_bps`` of their collateral, for ``provisional_days`` or until the score confirms it.
    provisional_tier: str = Field(default="B", pattern="^[ABC]$")
    provisional_days: int = Field(default=30, ge=0)
    provisional_line_cap: int = Field(default=10_000_000_000, ge=0)
    provisional_collateral_bps: int = Field(default=5_000, ge=0, le=10_000)
    #: Overrides must expire within this many days; PATCH /members/{name}/limits pins for the default.
    override_max_days: int = Field(default=365, ge=1)
    override_default_days: int = Field(default=30, ge=1)
    tier_a: TierPolicySettings = TierPolicySettings(line_bps=3_000, repayment_days=14)
    tier_b: TierPolicySettings = TierPolicySettings(line_bps=1_000, repayment_days=7)
    tier_c: TierPolicySettings = TierPolicySettings(line_bps=0, line_cap=0, repayment_days=3)


class ForecastSettings(BaseModel):
    """Each member's flow forecast and the pool's (``services/forecasts``)."""

    #: Seconds between scheduled forecast runs over every member (the chain writer's process only);
    #: 0: only on request (``POST /forecasts/run``).
    schedule_seconds: int = Field(default=86_400, ge=0)
    #: Days forecast ahead when a run does not say (requests may ask 7..14).
    horizon: int = Field(default=14, ge=7, le=14)
    #: Days of ledger history each forecast learns from.
    history_days: int = Field(default=365, ge=7, le=3_650)
    #: Simulated paths per member (more: steadier tails, slower runs).
    paths: int = Field(default=2_000, ge=100, le=100_000)


class AlertTierSettings(BaseModel):
    """One tier's alert thresholds (``domain/alerts.py`` says what each compares); members may override them."""

    #: Alert when headroom < this many days of typical daily outflow.
    headroom_days: int = Field(ge=0, le=365)
    #: Alert when the forecast's shortfall date is at most this many days away.
    shortfall_within_days: int = Field(ge=0, le=365)
    #: Alert when more obligations than this are carried over or queued beyond headroom.
    carried_max: int = Field(ge=0, le=1_000_000)
    #: Alert on each hold open this many hours or more.
    hold_open_hours: int = Field(ge=0, le=8_760)
    #: Alert when credit drawn reaches this share of the line (basis points).
    credit_utilisation_bps: int = Field(ge=0, le=10_000)


class AlertSettings(BaseModel):
    """Alerts (``services/alerts.py``): thresholds per tier, how often the scheduler evaluates them."""

    #: Seconds between evaluations by the scheduler (the chain writer's process only); 0: only on request.
    evaluate_seconds: int = Field(default=300, ge=0)
    #: Days whose outflows give the typical daily outflow (their median) that headroom is measured in.
    outflow_window_days: int = Field(default=28, ge=1, le=365)
    tier_a: AlertTierSettings = AlertTierSettings(
        headroom_days=1, shortfall_within_days=3, carried_max=5, hold_open_hours=48, credit_utilisation_bps=9_000
    )
    tier_b: AlertTierSettings = AlertTierSettings(
        headroom_days=2, shortfall_within_days=7, carried_max=2, hold_open_hours=24, credit_utilisation_bps=8_000
    )
    tier_c: AlertTierSettings = AlertTierSettings(
        headroom_days=3, shortfall_within_days=14, carried_max=0, hold_open_hours=12, credit_utilisation_bps=5_000
    )


class WebhookSettings(BaseModel):
    """Signed webhooks (Standard Webhooks): the outbox of events and its delivery (``services/webhooks/``)."""

    #: Accept endpoints in private, loopback, link-local, multicast, reserved or unspecified ranges
    #: (checked at registration and again at every delivery). Off in production: an endpoint is a URL the
    #: house will POST to, and must not reach the house's own network.
    allow_private: bool = False
    #: Seconds between a delivery worker's looks for due deliveries.
    poll_seconds: float = Field(default=0.2, gt=0, le=60)
    #: Seconds one delivery attempt may take (connect, send, answer).
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: A delivery still failing when its message is this old fails for good, and its endpoint is disabled.
    max_age_seconds: float = Field(default=86_400.0, gt=0)
    #: Retry n waits a random time in [0, min(cap, base * multiplier^(n-1))] (exponential backoff, full jitter).
    backoff_base_seconds: float = Field(default=5.0, gt=0)
    backoff_multiplier: float = Field(default=4.0, ge=1)
    backoff_cap_seconds: float = Field(default=8 * 3600.0, gt=0)
    #: After a secret rotation, deliveries carry the old secret's signature too for this long.
    secret_overlap_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    #: Deliveries in flight per worker process (one slow endpoint takes one of them at a time).
    concurrency: int = Field(default=8, ge=1, le=256)
    #: Run the delivery worker in ``clearing serve`` (every worker process may run it).
    deliver: bool = True


class DefaultSettings(BaseModel):
    """Member defaults (``services/defaults.py``): when the scan declares one, and how often it looks."""

    #: Days past a drawing's deadline, or past an obligation's first carry, before a default is declared.
    grace_days: int = Field(default=3, ge=0, le=365)
    #: Seconds between scans by the scheduler (the chain writer's process only); 0: operators declare by hand.
    scan_seconds: int = Field(default=3600, ge=0)


class VaultSettings(BaseModel):
    """The asset vault of pledged ERC-721/1155 (``services/pledges.py``; ``docs/pledges.md``)."""

    #: Who buys a defaulter's seized pledges for the house at their value (it approves the house for the
    #: token); set at deployment. Default: the deployer (admin) account.
    liquidator: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")


class FinancingSettings(BaseModel):
    """Receivable advances (``services/financing.py``; ``docs/financing.md``): the pool's price.

    advance = pending credit × (1 − haircut of the worst debtor tier that owes into it) − discount at
    ``rate_bps`` a year for the days until the cycle is claimable. Tier C's haircut is 100% by default: a
    receivable from a prepay-and-review debtor backs no advance (set it lower to finance those too).
    """

    haircut_a_bps: int = Field(default=500, ge=0, le=10_000)
    haircut_b_bps: int = Field(default=1_500, ge=0, le=10_000)
    haircut_c_bps: int = Field(default=10_000, ge=0, le=10_000)
    #: The annual discount rate (actual/365), in basis points.
    rate_bps: int = Field(default=1_200, ge=0, le=10_000)
    #: The fewest days priced: a cycle already claimable still waits for its release.
    min_days: int = Field(default=1, ge=0, le=365)

    def haircuts(self) -> dict[str, int]:
        return {"A": self.haircut_a_bps, "B": self.haircut_b_bps, "C": self.haircut_c_bps}


class UiSettings(BaseModel):
    """The browser console under /ui (docs/console.md)."""

    #: Signs the session cookies. Unset: a random secret per process, so sessions end when the server
    #: restarts; set it when serving with several workers (each would otherwise sign with its own).
    session_secret: SecretStr | None = None
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    #: The cookie's Secure flag: set it behind HTTPS. Off by default: the console serves plain http on
    #: loopback, where a Secure cookie would never be sent back.
    secure_cookie: bool = False
    #: The token's decimals when the house has no chain to ask (with a chain: the token's ``decimals()``).
    token_decimals: int = Field(default=6, ge=0, le=36)
    #: The RPC URL the auditor's browser reads the chain from (default: the chain's own, if it has one).
    rpc_url: str | None = None
    #: Where the pinned npm assets (htmx, ethers) are read from (default: the checkout's node_modules).
    assets_dir: Path | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARING_", env_nested_delimiter="__", extra="ignore")

    database_url: str | None = Field(default=None, description="Shortcut for database.url")
    database: DatabaseSettings = DatabaseSettings()
    chain: ChainSettings = ChainSettings()
    api: ApiSettings = ApiSettings()
    cycle: CycleSettings = CycleSettings()
    escrow: EscrowSettings = EscrowSettings()
    writer: WriterSettings = WriterSettings()
    pool: PoolSettings = PoolSettings()
    credit: CreditSettings = CreditSettings()
    forecast: ForecastSettings = ForecastSettings()
    alerts: AlertSettings = AlertSettings()
    webhooks: WebhookSettings = WebhookSettings()
    defaults: DefaultSettings = DefaultSettings()
    vault: VaultSettings = VaultSettings()
    financing: FinancingSettings = FinancingSettings()
    ui: UiSettings = UiSettings()

    @property
    def db_url(self) -> str:
        return self.database_url or self.database.url


@lru_cache
def get_settings() -> Settings:
    return Settings()


def environment_variables(group: str) -> list[str]:
    """The variables that set one group of settings (``database`` also has the ``CLEARING_DATABASE_URL``
    shortcut), derived from the models so a command's ``--help`` cannot drift from what it reads."""
    model = Settings.model_fields[group].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    names = [f"CLEARING_{group.upper()}__{name.upper()}" for name in model.model_fields]
    return ["CLEARING_DATABASE_URL", *names] if group == "database" else names
