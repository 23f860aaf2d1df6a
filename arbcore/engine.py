"""The trading loop: market data in, opportunities found, risk-checked, executed, recorded.

:class:`Engine` wires the parts a configuration names: each venue's live book client (the
bundled simulator's endpoints when ``[sim]`` is configured, the real venues otherwise), the
strategies, the orchestrator, risk, the router over shadow venues (the default; live ones with
``mode = "live"``, the caller's opt-in and credentials: see :mod:`arbcore.execution.venues`)
and the audit trail. Everything runs on one asyncio loop; the decision path (book update ->
strategy -> orchestrator -> risk) is synchronous inside the book callback, so a decision is
taken within the same event as the frame that caused it, and only the orders leave as tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs
import httpx

from arbcore.config.schema import AppConfig
from arbcore.errors import ConfigError, ExchangeError, GraphError, OrderNotFound
from arbcore.exchanges.registry import fetch_instruments, get_venue
from arbcore.exchanges.trading import new_client_order_id
from arbcore.execution.router import Router, TradeStatus
from arbcore.execution.venues import TradingVenues, build_venues, live_credentials
from arbcore.marketdata.client import BookClient
from arbcore.marketdata.market import DOLLAR_QUOTES
from arbcore.marketdata.sync import BookSync
from arbcore.model import USD_ASSETS, Instrument, Opportunity, OrderStatus
from arbcore.observability import tracing
from arbcore.observability.events import EventHub
from arbcore.observability.metrics import DecisionMetrics
from arbcore.observability.publish import QuoteEvents, TradeEvents
from arbcore.observability.tracing import new_trace_id
from arbcore.risk.engine import RiskDecision, RiskEngine, TradingState, leg_tuples
from arbcore.storage.audit import AuditTrail, RecordKind, by_reference
from arbcore.storage.recovery import RecoveredState, recover
from arbcore.strategies.cross_exchange import CrossExchangeStrategy
from arbcore.strategies.orchestrator import Key, Markets, Orchestrator, Ticket
from arbcore.strategies.triangular import TriangularScanner
from arbcore_ext.book import L2Book
from arbcore_ext.booktap import BookTap, Tally
from arbcore_ext.clocks import Seconds
from arbcore_ext.crossbook import Check, Counts
from arbcore_ext.crossdecide import CrossDecision
from arbcore_ext.ledger import Ledger
from arbcore_ext.riskcore import BookAges
from arbcore_ext.tridecide import TriangularDecision
from arbcore_ext.usdprices import UsdPrices

__all__ = ["SWITCH_INTERVAL_S", "Engine", "EngineStats", "frozen_startup", "pin_hot_loop"]

logger = logging.getLogger(__name__)

LATENCY_SAMPLES = 200_000
#: read by every decision (an enum member read from its class costs 4x a global)
_OPPORTUNITY, _RISK_DECISION = RecordKind.OPPORTUNITY, RecordKind.RISK_DECISION
SWITCH_INTERVAL_S = 5e-5


def pin_hot_loop(cpu: int) -> frozenset[int] | None:
    """Pin the calling thread (the trading loop) to ``cpu``; the CPUs left for the engine's
    background threads (the audit trail's), None when there are none. Threads created after
    this would inherit the loop's one CPU: the engine hands the trail these instead."""
    from arbcore_ext.affinity import available_cpus, pin_thread

    pin_thread([cpu])
    return available_cpus() - {cpu} or None


@attrs.define
class EngineStats:
    """What a run did; the status line and the closing summary read these."""

    started_ns: int = 0
    #: found, by kind (a Counts: the strategies' compiled pre-checks add their refusals in C)
    opportunities: Counts[str] = attrs.Factory(Counts)
    admitted: int = 0
    risk_refused: Counter[str] = attrs.Factory(Counter)
    trades: int = 0
    filled_legs: int = 0
    leg_failures: int = 0
    unhedged: int = 0
    pnl_usd: float = 0.0
    not_admitted: Counter[str] = attrs.Factory(Counter)  # the orchestrator's reasons
    latencies_ns: deque[int] = attrs.Factory(lambda: deque(maxlen=LATENCY_SAMPLES))
    #: the count the book callbacks (each venue's BookTap) keep in C; see book_updates
    tally: Tally = attrs.field(factory=Tally, repr=False, eq=False)

    @property
    def book_updates(self) -> int:
        """Book updates handled (counted in C by the callbacks)."""
        return self.tally.book_updates

    @book_updates.setter
    def book_updates(self, value: int) -> None:
        self.tally.book_updates = value

    def latency_us(self, quantile: float) -> float | None:
        if not self.latencies_ns:
            return None
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] / 1_000


@contextlib.contextmanager
def frozen_startup() -> Iterator[None]:
    """Start-up's garbage goes now; what is left lives as long as the run and is never scanned
    again (a full collection took 100+ ms with it), until the block ends."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Engine:
    """One configured engine. ``await engine.run(duration_s)`` and read :attr:`stats`."""

    def __init__(self, config: AppConfig, *, status: Callable[[str], None] | None = None,
                 live: bool = False) -> None:  # fmt: skip
        """``live``: the caller's explicit opt-in to real orders, which ``mode = "live"``
        also needs; the venues' credentials are then read and checked here, before anything
        starts (a ConfigError names every missing variable)."""
        system = config.system
        self._credentials = live_credentials(system, live=live)  # {} in shadow mode
        self.config = config
        self._taps: list[BookTap] = []  # each venue's book callback (see _bind_taps)
        self._clock_ns: Callable[[], int] = time.time_ns
        self._seconds = Seconds(time.time_ns)  # risk's clock: the event clock in seconds
        self._arrival_ns: Callable[[], int] = time.perf_counter_ns
        self._cross: CrossExchangeStrategy | None = None
        self._cross_decision: CrossDecision | None = None
        self._cycle_decisions: dict[str, TriangularDecision] = {}
        #: what :meth:`idle` rehearses, one per call in turn (the bound compiled decisions)
        self._rehearsals: list[Callable[[], int]] = []
        self._rehearsal_turn = 0
        self.new_trace_id: Callable[[], str] = new_trace_id
        self.new_order_id: Callable[[], str] = new_client_order_id
        self.stats = EngineStats()
        #: what the engine tells the outside world as it happens (the control API's streams,
        #: alerts): audit rows on ``trades``, state changes on ``system``, tops on ``market-data``
        self.events = EventHub(clock_ns=lambda: self._clock_ns())
        self._topics = self.events.topics  # (a decision's "is trades listened to": one lookup)
        self.metrics = DecisionMetrics()  # what only the decision path knows (see metrics.py)
        #: where the router's alerts go (`arbcore run`: the alert manager; None: the log); set
        #: before :meth:`run`
        self.alert: Callable[[str], None] | None = None
        self._rows = TradeEvents(self.events, lambda v, s: self.instruments.get(v, {}).get(s))
        self._quotes = QuoteEvents(self.events, self.book)
        self._status = status
        self.clients: dict[str, BookClient] = {}
        self.syncs: dict[str, dict[str, BookSync]] = {}  # venue -> symbol -> its sync
        self.instruments: dict[str, dict[str, Instrument]] = {}
        #: the venues' free balances and the orchestrator's reservations, one copy in C (the
        #: compiled decision reads and reserves there)
        self.ledger = Ledger()
        #: the router's venue clients, shadow or live
        self.venues = TradingVenues(ledger=self.ledger)
        self.endpoints: dict[str, Any] = {}  # the simulator's, per venue, when it runs
        self._updated_ns: dict[str, dict[str, int]] = {}  # venue -> symbol -> event time
        self._usd_cache: dict[str, float | None] = {}  # asset -> mid, until its market moves
        #: USD per unit of an asset: 1 for dollar assets, else a dollar market's mid (cached
        #: until a book event of one of the asset's dollar markets; a price whose dollar books
        #: all stopped updating keeps its last mid, and the freshness rule guards trades on
        #: them); compiled, so risk and the compiled decision read it without a Python frame
        self.usd = UsdPrices(USD_ASSETS, DOLLAR_QUOTES, self._usd_cache, self.instruments,
                             self.syncs)  # fmt: skip
        self._reported: dict[tuple[str, str], float] = {}  # positions risk was last told
        self._trades: set[asyncio.Task[None]] = set()
        self.triangular: dict[str, TriangularScanner] = {}
        self.orchestrator = Orchestrator(system.strategies.cool_off_ms,
                                         balance_of=self.venues.balance,
                                         clock_ns=lambda: self._clock_ns(),
                                         ledger=self.ledger)  # fmt: skip
        self.risk = RiskEngine(system.risk, price_usd=self.usd, on_state=self._on_state,
                               clock=self._seconds)  # fmt: skip
        self.audit: AuditTrail | None = None
        self.router: Router | None = None
        by_reference(Opportunity)  # (what every decision appends: decided now, not then)
        by_reference(RiskDecision)

    # -- what the book callbacks call (each setter binds them again) ------------------------------

    @property
    def clock_ns(self) -> Callable[[], int]:
        """The event clock (ns): wall time live, the recording's time in a backtest."""
        return self._clock_ns

    @clock_ns.setter
    def clock_ns(self, clock: Callable[[], int]) -> None:
        self._clock_ns = self._seconds.clock = clock
        self._bind_taps()

    @property
    def arrival_ns(self) -> Callable[[], int]:
        """When the frame being handled arrived (perf_counter ns): live, a frame is handled as
        it is read, so "now"; a paced bench sets its schedule (waits count as latency)."""
        return self._arrival_ns

    @arrival_ns.setter
    def arrival_ns(self, arrival: Callable[[], int]) -> None:
        self._arrival_ns = arrival
        self._bind_taps()

    @property
    def cross(self) -> CrossExchangeStrategy | None:
        """The cross-exchange strategy, once trading is built (None: not configured)."""
        return self._cross

    @cross.setter
    def cross(self, strategy: CrossExchangeStrategy | None) -> None:
        self._cross = strategy
        self._bind_taps()

    @property
    def cross_decision(self) -> CrossDecision | None:
        """The cross strategy's decision in C (see :meth:`_bind_decision`), when its
        configuration allows; None: every find is decided in Python."""
        return self._cross_decision

    @cross_decision.setter
    def cross_decision(self, decision: CrossDecision | None) -> None:
        self._cross_decision = decision
        self._bind_taps()

    @property
    def cycle_decisions(self) -> Mapping[str, TriangularDecision]:
        """Venue -> its triangular scanner's decision in C (see :meth:`_bind_decision`); a
        venue not here has every find decided in Python."""
        return self._cycle_decisions

    @cycle_decisions.setter
    def cycle_decisions(self, decisions: Mapping[str, TriangularDecision]) -> None:
        self._cycle_decisions = dict(decisions)
        self._bind_taps()

    def _bind_taps(self, taps: Iterable[BookTap] | None = None) -> None:
        """Give the book callbacks (all of them, or ``taps``) what they call now (an explicit
        contract: a tap reads no engine attribute itself), and :meth:`idle` its rehearsals."""
        decisions = [self._cross_decision, *self._cycle_decisions.values()]
        self._rehearsals = [d.rehearse for d in decisions if d is not None]
        for tap in self._taps if taps is None else taps:
            tap.bind(self._arrival_ns, self._clock_ns, self._cross, self.triangular,
                     self._cross_decision, self._cycle_decisions.get(tap.venue))  # fmt: skip

    def idle_work(self) -> bool:
        """Deferred work, one step, while no message waits: one of the audit trail's held
        records made a row (:meth:`AuditTrail.prepare
        <arbcore.storage.audit.AuditTrail.prepare>`: its JSON made here, where it delays no
        message, rather than on the trail's preparer thread, whose GIL time would). Whether it
        did any: ``arbcore run``'s loop calls it before it sleeps until it has nothing to do."""
        audit = self.audit
        return audit is not None and audit.held and audit.prepare(1, blocking=False) > 0

    def idle(self) -> None:
        """One step of work while no message waits: :meth:`idle_work` while it has some, else
        a rehearsal of one compiled decision in turn
        (:meth:`CrossDecision.rehearse <arbcore_ext.crossdecide.CrossDecision.rehearse>`:
        the next route; :meth:`TriangularDecision.rehearse
        <arbcore_ext.tridecide.TriangularDecision.rehearse>`: the cycle its venue last moved;
        every read of a decision, no effect), so that a decision, which runs once in tens of
        frames, finds its code and data in cache. A few microseconds; the busy-polling loop
        (``[system] busy_poll``, :mod:`arbcore.net.busypoll`) calls it between polls."""
        if self.idle_work():
            return
        rehearsals = self._rehearsals
        if rehearsals:
            self._rehearsal_turn = (self._rehearsal_turn + 1) % len(rehearsals)
            rehearsals[self._rehearsal_turn]()

    # -- running ----------------------------------------------------------------------------------

    async def run(self, duration_s: float | None = None) -> EngineStats:
        system = self.config.system
        # The audit trail's preparer is a second thread (it makes the rows the loop's idle
        # work has not): give the GIL back to the loop within 50 us rather than the default
        # 5 ms, or a decision can wait that long for it.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        background = pin_hot_loop(system.cpu) if system.cpu is not None else None
        self.stats.started_ns = time.monotonic_ns()
        async with contextlib.AsyncExitStack() as stack:
            endpoints = await self._start_simulator(stack)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
            storage = system.storage
            self.audit = stack.enter_context(
                AuditTrail(storage.path, synchronous=storage.synchronous, cpus=background)
            )
            await self._connect(http, endpoints)
            self._build_trading()
            stack.push_async_callback(self.venues.aclose)
            await self.recover()
            stack.enter_context(frozen_startup())
            runners = [asyncio.create_task(client.run()) for client in self.clients.values()]
            try:
                await self._watch(duration_s)
            finally:
                for client in self.clients.values():
                    await client.close()
                await asyncio.gather(*runners, return_exceptions=True)
                if self._trades:
                    await asyncio.gather(*self._trades, return_exceptions=True)
                self.audit.flush()
        self.stats.not_admitted.update(self.orchestrator.refused)
        return self.stats

    async def recover(self) -> RecoveredState | None:
        """Rebuild from the audit trail, then reconcile with the venues before any trade.

        The trail gives the orders still open, today's realised PnL and the last trading state.
        Each open order is looked up on its venue (live: the venue's own answer; a shadow
        venue's orders do not outlive the process, so they are recorded as cancelled); one
        still working is cancelled, and the answer is recorded. A live venue also lists its
        open orders (counted in the RECONCILE row), then syncs its clock and reads balances.
        If a venue cannot answer, trading is HALTED: never trade on a state that is not known.
        """
        assert self.audit is not None
        state, failures = None, []
        if self.audit.durable_seq:
            state = recover(self.audit.path, now_ns=self.clock_ns())
            self.risk.daily_pnl_usd = state.daily_pnl_usd
            if state.trading_state == TradingState.HALTED.value:
                self.risk.kill("halted before the restart; resume explicitly")
            for order in state.open_orders:
                venue = self.venues.clients.get(order.venue)
                instrument = self.instruments.get(order.venue, {}).get(order.symbol)
                if venue is None or instrument is None:
                    failures.append(f"{order.venue} {order.client_order_id}: venue not running")
                    continue
                try:
                    found = await venue.fetch_order(instrument, order.client_order_id)
                    if not found.status.is_final:  # left working by the crash: stop it
                        found = await venue.cancel_order(instrument, order.client_order_id)
                except OrderNotFound:
                    found = attrs.evolve(order, status=OrderStatus.CANCELED)
                except ExchangeError as error:
                    failures.append(f"{order.venue} {order.client_order_id}: {error}")
                    continue
                self.audit.append(RecordKind.VENUE_REPLY, found, ts_ns=self.clock_ns(),
                                  venue=order.venue, symbol=order.symbol)  # fmt: skip
            venue_open, unanswered = await self.venues.open_orders()
            failures += unanswered
            outcome = {"open_orders": len(state.open_orders), "failures": failures,
                       "daily_pnl_usd": state.daily_pnl_usd, "last_seq": state.last_seq,
                       "venue_open_orders": venue_open}  # fmt: skip
            self.audit.append(RecordKind.RECONCILE, outcome, ts_ns=self.clock_ns())
        failures += await self.venues.start()  # live: clocks synced, balances read
        if failures:
            self.risk.kill(f"reconciliation failed: {failures[0]}")
        return state

    async def _start_simulator(self, stack: contextlib.AsyncExitStack) -> Mapping[str, Any]:
        sim = self.config.system.sim
        if sim is None:
            return {}
        from arbcore.sim import SimConfig, Simulator
        from arbcore.sim.config import credential_accounts
        from arbcore.sim.market import MarketConfig

        market = MarketConfig(dislocation_rate=sim.dislocation_rate)
        accounts = credential_accounts(self._credentials)  # live: the keys in the environment
        simulator = Simulator(SimConfig(venues=sim.venues, symbols=sim.symbols, seed=sim.seed,
                                        market=market, venue_accounts=accounts))  # fmt: skip
        await stack.enter_async_context(simulator)
        self.endpoints = dict(simulator.endpoints)
        return self.endpoints

    async def _connect(self, http: httpx.AsyncClient, endpoints: Mapping[str, Any]) -> None:
        for venue, settings in sorted(self.config.system.venues.items()):
            if not settings.enabled or (endpoints and venue not in endpoints):
                continue
            spec = get_venue(venue)
            if spec.client is None:
                raise ConfigError(f"{venue} has no live client", key=f"venues.{venue}")
            endpoint = endpoints.get(venue)
            rest_url = endpoint.rest_url if endpoint else settings.rest_url
            ws_url = endpoint.ws_url if endpoint else settings.ws_url
            urls = {k: v for k, v in (("rest_url", rest_url), ("ws_url", ws_url)) if v}
            try:
                listed = {i.symbol: i for i in await fetch_instruments(venue, http, rest_url)}
            except (ExchangeError, httpx.HTTPError, ValueError) as exc:
                logger.error("%s: no instrument list (%s); the venue is left out", venue, exc)
                continue
            wanted = settings.symbols or tuple(sorted(listed))
            chosen = {symbol: listed[symbol] for symbol in wanted if symbol in listed}
            if not chosen:
                logger.warning("%s lists none of %s; skipped", venue, ", ".join(wanted))
                continue
            self.instruments[venue] = chosen
            client = spec.client(list(chosen.values()), http=http, on_book=self._on_book(venue),
                                 **urls)  # fmt: skip
            await client.add_symbols(list(chosen))
            self.clients[venue] = client
            self.syncs[venue] = client.syncs

    def _build_trading(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Strategies, venues (shadow, or live with credentials) and the router over
        ``self.instruments``; ``sleep`` is how a shadow order waits out its latency (the
        backtest's virtual clock in a replay)."""
        system = self.config.system
        self.venues = build_venues(self.config, self.instruments, credentials=self._credentials,
                                   endpoints=self.endpoints, book_of=self._book_getter,
                                   clock_ns=self.clock_ns, sleep=sleep,
                                   ledger=self.ledger)  # fmt: skip
        self.orchestrator.balance_of = self.venues.balance
        strategies = system.strategies
        if strategies.cross_exchange.enabled and len(self.instruments) >= 2:
            self.cross = CrossExchangeStrategy(
                strategies.cross_exchange, self.instruments, book_of=self.book,
                balance_of=self.orchestrator.available, usd=self.usd,
                clock_ns=self.clock_ns, blocked=self._blocked(CrossExchangeStrategy.kind),
                syncs=self.syncs,
            )  # fmt: skip
        if strategies.triangular.enabled:
            tri = strategies.triangular
            for venue in tri.venues or tuple(self.instruments):
                if venue not in self.instruments:
                    continue
                try:
                    self.triangular[venue] = TriangularScanner(
                        self.instruments[venue].values(),
                        tri.start_assets,
                        min_profit_bps=tri.min_profit_bps,
                        max_start=tri.max_notional_usd,  # start assets are dollar assets
                        clock=self.clock_ns,
                        tradeable_only=True,  # emit only what _on_book's found would keep
                    )
                    self.triangular[venue].blocked = self._blocked("triangular")
                except GraphError as exc:  # a venue whose markets hold no cycle
                    logger.info("%s: no triangular cycles (%s)", venue, exc)
        self.router = Router(self.venues.clients,
                             lambda venue, symbol: self.instruments[venue][symbol],
                             system.execution, audit=self.audit, risk=self.risk,
                             usd=self.usd, clock_ns=self.clock_ns, alert=self.alert,
                             on_record=self._rows,
                             new_order_id=lambda: self.new_order_id())  # fmt: skip
        self._bind_decision()

    def _bind_decision(self) -> None:
        """Let the strategies' finds be decided in C, up to the risk verdict, over the very
        state the Python path reads: the cross strategy's routes
        (:class:`~arbcore_ext.crossdecide.CrossDecision`) and each venue's cycles
        (:class:`~arbcore_ext.tridecide.TriangularDecision`): the books, the venues' balances
        and the orchestrator's reservations (one ledger), its gate and counts, risk and the
        books' times. Only when the strategy asks the orchestrator itself in C (its compiled
        pre-check, the engine's own wiring)."""
        cross = self.cross
        self._cross_decision, self._cycle_decisions = None, {}
        ledger = self.orchestrator.ledger
        if not isinstance(self.usd, UsdPrices) or self.venues.ledger is not ledger:
            self._bind_taps()
            return
        if cross is not None and cross.gated:
            config = cross.config
            self._cross_decision = CrossDecision(
                cross.kernel, cross.decision_facts(), config.slippage_bps,
                config.max_notional_usd, ledger, self.orchestrator.refused, self.risk,
                self._decided, self.usd,
            )  # fmt: skip
        floor = self.config.system.strategies.triangular.min_profit_bps
        for venue, scanner in self.triangular.items():
            if not isinstance(scanner.blocked, Check):
                continue
            threshold = max(floor, scanner.min_profit_bps) if scanner.tradeable_only else floor
            self._cycle_decisions[venue] = TriangularDecision(
                scanner, venue, scanner.units(), threshold, scanner.max_start, ledger,
                self.orchestrator.refused, self.risk, self._decided_cycle, self.usd, USD_ASSETS,
            )  # fmt: skip
        self._bind_taps()

    async def _watch(self, duration_s: float | None) -> None:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(1.0 if deadline is None else min(1.0, deadline - time.monotonic()))
            if self._status is not None:
                self._status(self.status_line())

    # -- the decision path ------------------------------------------------------------------------

    def _on_book(self, venue: str) -> Callable[[str, L2Book], None]:
        """The venue's book callback: the whole decision path, synchronously.

        Per event: the dollar price of the market's base is dropped from the cache when the
        market is a dollar market (only then can it change), then each strategy prices the
        update (building nothing unless something may trade), the finds are ranked and each
        goes to the orchestrator and risk. All of it up to a find runs in C
        (:class:`~arbcore_ext.booktap.BookTap`: the count, the book's time, the cache, the
        cross kernel's and the cycle engine's updates); only a find comes back here.
        """
        listed = self.instruments.get(venue, {})
        dollar_base = {s: i.base for s, i in listed.items() if i.quote in DOLLAR_QUOTES}
        floor = self.config.system.strategies.triangular.min_profit_bps

        def found(opportunity: Opportunity | None, emitted: Any, arrived: int) -> None:
            """What the strategies found on one update: ranked, each to :meth:`_decide`."""
            if emitted:
                finds = [] if opportunity is None else [opportunity]
                finds += [o for o in emitted
                          if isinstance(o, Opportunity) and o.legs[0].size_raw
                          and o.expected_profit > 0 and o.profit_bps >= floor]  # fmt: skip
                for ranked in self.orchestrator.rank(finds) if len(finds) > 1 else finds:
                    self._decide(ranked, arrived)
            elif opportunity is not None:
                self._decide(opportunity, arrived)

        # (the hub's topic table: "is market-data listened to" is one lookup in C)
        topics = self.events.topics
        tap = BookTap(venue, self.stats.tally, dollar_base, listed,
                      self._updated_ns.setdefault(venue, {}), self._usd_cache, topics,
                      self._quotes.changed, found)  # fmt: skip
        self._taps.append(tap)
        self._bind_taps((tap,))
        return tap.on_book

    def _blocked(self, kind: str) -> Callable[[Key, Markets], bool]:
        """A strategy's pre-check: would the orchestrator refuse this now? A refusal counts as
        an opportunity of ``kind`` found and not admitted, as if it had been offered."""
        return self.orchestrator.pre_check((kind, self.stats.opportunities, self.metrics.detected))

    def _decide(self, opportunity: Opportunity, arrived_ns: int) -> None:
        self.stats.opportunities[opportunity.kind] += 1
        self.metrics.detected[opportunity.kind, opportunity.venue] += 1
        ticket = self.orchestrator.admit(opportunity)
        if ticket is None:
            return
        trace_id = self.new_trace_id()
        decision = self.risk.check_legs(leg_tuples(opportunity, self.usd, self._book_ages()),
                                        trace_id)  # fmt: skip
        elapsed = time.perf_counter_ns() - arrived_ns
        self._decision_made(opportunity, ticket, trace_id, decision, elapsed)

    def _decided(self, made: CrossDecision) -> None:
        """A cross-exchange decision taken in C (found, admitted, risk-checked and stamped by
        :class:`~arbcore_ext.crossdecide.CrossDecision`): its objects, then what every decision
        does after the verdict. The same objects and records as :meth:`_decide` makes."""
        cross = self._cross
        assert cross is not None
        opportunity, markets = cross.decided(made.route, made.quote, made.top_rate,
                                             made.quote_usd, made.detected_at_ns)  # fmt: skip
        self._admitted(opportunity, markets, made)

    def _decided_cycle(self, made: TriangularDecision) -> None:
        """A triangular decision taken in C (:class:`~arbcore_ext.tridecide.TriangularDecision`):
        its objects, as the scanner would have emitted them, then the same as :meth:`_decided`."""
        scanner = made.engine
        assert isinstance(scanner, TriangularScanner)
        opportunity = scanner.priced(made.cycle, made.sized(), made.detected_at_ns)
        self._admitted(opportunity, scanner.cycle_key(made.cycle)[1], made)

    def _admitted(self, opportunity: Opportunity, markets: Markets,
                  made: CrossDecision | TriangularDecision) -> None:  # fmt: skip
        """A compiled decision's ticket and verdict (its reservations, busy markets and
        cool-off already in place), then what every decision does after the verdict."""
        ticket = self.orchestrator.admitted_ticket(opportunity, markets, made.reserved_amounts)
        trace_id = self.new_trace_id()
        decision = self.risk.verdict(made.breach, trace_id)
        self._decision_made(opportunity, ticket, trace_id, decision, made.elapsed_ns)

    def _decision_made(self, opportunity: Opportunity, ticket: Ticket, trace_id: str,
                       decision: RiskDecision, elapsed: int) -> None:  # fmt: skip
        """After the verdict (``elapsed``: arrival -> it): the latency, the audit rows (the
        opportunity's and the verdict's, queued together), and the trade's task when risk
        approved."""
        self.stats.latencies_ns.append(elapsed)
        self.metrics.latency.observe_ns(elapsed)
        now = self._clock_ns()
        audit = self.audit
        assert audit is not None
        venue = opportunity.venue
        seq = audit.append_pair(_OPPORTUNITY, opportunity, _RISK_DECISION, decision, ts_ns=now,
                                trace_id=trace_id, venue=venue)  # fmt: skip
        if "trades" in self._topics:  # (events.listened("trades"); the usual run: nobody does)
            self._rows(_OPPORTUNITY, opportunity, seq, now, trace_id, venue, "")
            self._rows(_RISK_DECISION, decision, seq + 1, now, trace_id, "", "")
        if not decision.approved:
            self.stats.risk_refused[decision.rule or ""] += 1
            self.orchestrator.finish(ticket)
            return
        self.stats.admitted += 1
        task = asyncio.get_running_loop().create_task(self._trade(opportunity, ticket, trace_id))
        self._trades.add(task)
        task.add_done_callback(self._trades.discard)

    async def _trade(self, opportunity: Opportunity, ticket: Ticket, trace_id: str) -> None:
        tracing.activate(trace_id)  # the task's own context: its REST calls and log lines carry it
        assert self.router is not None
        try:
            # The trade's Python runs in slices, each a loop turn, so that frames arriving
            # meanwhile wait for a slice (~100 us cold here), not the whole trade: this one,
            # the orders (the legs' tasks), their results, risk told the positions.
            await asyncio.sleep(0)
            result = await self.router.execute(opportunity, trace_id)
        except Exception:
            self.metrics.trade_errors += 1
            logger.exception("trade %s failed", trace_id)
            return
        finally:
            try:  # live: the venues' balances after the trade, read before its reservation ends
                await self.venues.refresh({leg.venue for leg in opportunity.legs})
            finally:
                self.orchestrator.finish(ticket)
        stats = self.stats
        stats.trades += 1
        legs = (*result.legs, *result.repairs)
        filled = sum(1 for leg in legs if leg.filled_raw)
        stats.filled_legs += filled
        unhedged = result.status is TradeStatus.UNHEDGED
        if result.repairs or unhedged:
            stats.leg_failures += 1
        if unhedged:
            stats.unhedged += 1
        pnl_usd = result.realized_usd or 0.0
        stats.pnl_usd += pnl_usd  # (the router has told risk already)
        moved = {leg.leg.venue for leg in legs} | {leg.venue for leg in opportunity.legs}
        asyncio.get_running_loop().call_soon(self._report_positions, moved)
        if logger.isEnabledFor(logging.DEBUG):  # (the status' text is read only then)
            logger.debug("trade %s %s: %d legs filled, %+.4f USD", trace_id,
                         result.status.value, filled, pnl_usd)  # fmt: skip

    def _record(self, kind: RecordKind, payload: object, ts_ns: int, trace_id: str = "",
                venue: str = "") -> None:  # fmt: skip
        """Append an audit row, and put it on the ``trades`` stream if anyone listens."""
        assert self.audit is not None
        seq = self.audit.append(kind, payload, ts_ns=ts_ns, trace_id=trace_id, venue=venue)
        if "trades" in self._topics:  # (events.listened("trades"); the usual run: nobody does)
            self._rows(kind, payload, seq, ts_ns, trace_id, venue, "")

    def _report_positions(self, venues: Iterable[str]) -> None:
        """Tell risk the positions (what changed since the start) that moved on ``venues``."""
        reported = self._reported
        for venue in sorted(venues):
            for asset, position in self.venues.positions(venue).items():
                if reported.get((venue, asset)) != position:
                    reported[(venue, asset)] = position
                    self.risk.on_position(venue, asset, position)

    # -- views ------------------------------------------------------------------------------------

    def book(self, venue: str, symbol: str) -> L2Book | None:
        """The venue's book for ``symbol`` if it is in sync, else None (never a stale book)."""
        syncs = self.syncs.get(venue)
        sync = syncs.get(symbol) if syncs is not None else None
        return sync.book if sync is not None and sync.in_sync else None  # (sync.fresh_book())

    def _book_getter(self, venue: str) -> Callable[[str], L2Book | None]:
        return lambda symbol: self.book(venue, symbol)

    def _book_ages(self) -> Callable[[str, str], float]:
        """Each book's age (ms) now: one clock read for all of a decision's legs."""
        return BookAges(self.clock_ns(), self._updated_ns)

    def _on_state(self, state: Any, reason: str) -> None:
        if self.audit is not None:
            self.audit.append(RecordKind.STATE, {"state": state.value, "reason": reason},
                              ts_ns=self.clock_ns())  # fmt: skip
        self.events.publish("system", "state", {"state": state.value, "reason": reason})

    def status_line(self) -> str:
        stats = self.stats
        elapsed = max((time.monotonic_ns() - stats.started_ns) / 1e9, 1e-9)
        synced = sum(1 for syncs in self.syncs.values() for s in syncs.values() if s.in_sync)
        books = sum(len(syncs) for syncs in self.syncs.values())
        p50 = stats.latency_us(0.5)
        latency = "-" if p50 is None else f"{p50:.1f}us"
        return (f"{elapsed:6.0f}s  updates {stats.book_updates / elapsed:8,.0f}/s  books "
                f"{synced}/{books}  opportunities {sum(stats.opportunities.values()):,}  trades "
                f"{stats.trades:,}  pnl {stats.pnl_usd:+.2f} USD  decision p50 {latency}  "
                f"state {self.risk.state.value}")  # fmt: skip
