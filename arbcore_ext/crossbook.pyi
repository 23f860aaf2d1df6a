"""Cross-venue touch test: which (buy market, sell market) routes cross at the top of both books."""

from collections.abc import (
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from typing import Any, Generic, TypeVar

from arbcore_ext.book import L2Book

#: (buy market, sell market, ask_factor, bid_factor, ask_unit, always): ask_factor turns a raw
#: ask into the cost per base unit (fee included), bid_factor a raw bid into the proceeds, ask_unit
#: a raw ask into its price; ``always``: the quotes differ, so the route is returned whenever both
#: sides have a price (the caller applies the live rate).
RouteSpec = tuple[int, int, float, float, float, bool]

Key = tuple[str, str, str]  # the orchestrator's (kind, venue, legs)
Market = tuple[str, str]  # (venue, symbol)

class Gate:
    """The orchestrator's cool-off and busy-liquidity state, in C arrays indexed by small ints.
    ``clock``: ns, read only when a key has been taken."""

    cool_off_ns: int
    n_taken: int
    n_busy: int
    offered: int  # refusals the pre-checks counted, and what the owner adds
    def __init__(self, cool_off_ns: int, clock: Callable[[], int]) -> None: ...
    @property
    def taken(self) -> TakenView:
        """The cool-off's record, key -> clock ns when last taken, as a mapping."""
    @property
    def busy(self) -> BusyView:
        """The markets with a trade in flight, as a set."""
    def refusal(self, key: Key, markets: Iterable[Market]) -> str | None:
        """``"cool_off"``, ``"liquidity_in_use"`` or None (refused now or not); counts nothing."""

class TakenView:
    """:class:`Gate`'s cool-off record: key -> clock ns when it was last taken."""

    def __init__(self, gate: Gate) -> None: ...
    def __getitem__(self, key: Hashable) -> int: ...
    def get(self, key: Hashable, default: int | None = None) -> int | None: ...
    def __setitem__(self, key: Hashable, ns: int) -> None: ...
    def __delitem__(self, key: Hashable) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...

class BusyView:
    """:class:`Gate`'s busy markets as a set of (venue, symbol)."""

    def __init__(self, gate: Gate) -> None: ...
    def add(self, market: Market) -> None: ...
    def discard(self, market: Market) -> None: ...
    def update(self, markets: Iterable[Market]) -> None: ...
    def difference_update(self, markets: Iterable[Market]) -> None: ...
    def isdisjoint(self, markets: Iterable[Market]) -> bool: ...
    def __contains__(self, market: object) -> bool: ...
    def __len__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __iter__(self) -> Iterator[Market]: ...

_K = TypeVar("_K", bound=Hashable)

class Counts(MutableMapping[_K, int], Generic[_K]):
    """A count per key kept in C (a Counter's reads: a missing key counts 0 and is not added);
    compiled pre-checks (:class:`Check`) add to it without a Python object."""

    def __init__(self, counts: Mapping[_K, int] | Iterable[tuple[_K, int]] = ()) -> None: ...
    def __getitem__(self, key: _K) -> int: ...
    def __setitem__(self, key: _K, n: int) -> None: ...
    def __delitem__(self, key: _K) -> None: ...
    def __iter__(self) -> Iterator[_K]: ...
    def __len__(self) -> int: ...

class Check:
    """A strategy's pre-check: ``check(key, markets)`` is True, and the refusal counted (the
    gate's ``offered`` and ``refused[reason]``; with ``found`` and ``detected`` also
    ``found[kind]`` and ``detected[kind, key[1]]``), when the orchestrator would refuse it now."""

    gate: Gate
    kind: str
    def __init__(
        self,
        gate: Gate,
        refused: MutableMapping[str, int],
        kind: str = "",
        found: MutableMapping[str, int] | None = None,
        detected: MutableMapping[tuple[str, str], int] | None = None,
    ) -> None: ...
    def __call__(self, key: Key, markets: Iterable[Market]) -> bool: ...

class CrossBook:
    """Each market's touch, and per market the routes an update of it is tested on."""

    n_markets: int
    n_routes: int
    min_profit_bps: float
    checked: int  # routes tested (the other market's touch known)
    walked: int  # routes walked in depth (CrossExchangeStrategy.walked: Python's and C's)
    n_known: int  # markets whose touch is known
    def __init__(
        self,
        n_markets: int,
        routes: Sequence[RouteSpec],
        by_market: Sequence[Sequence[int]],
        min_profit_bps: float,
    ) -> None: ...
    def load(self, market: int, book: L2Book) -> None:
        """Take ``market``'s touch from ``book`` without testing any route."""
    def set_top(self, market: int, bid: int | None, ask: int | None) -> None:
        """Set ``market``'s touch from raw prices (None: that side is empty)."""
    def forget(self, market: int) -> None:
        """``market``'s touch is unknown again."""
    def known(self, market: int) -> bool: ...
    def stamped(self, market: int) -> int | None:
        """When ``market``'s book was last updated (the engine's clock, ns; the book callback
        stamps it), or None: what the compiled decision reads the books' ages from."""
    def attach(
        self,
        check: Check,
        keys: Sequence[Key | None],
        names: Sequence[Market],
        syncs: dict[str, Any],
    ) -> None:
        """Pre-check crossing routes here through ``check``: a refused route is counted there
        and not returned. ``keys[r]``: route r's key (None: returned, for the caller to ask);
        ``names[m]``: market m's (venue, symbol); ``syncs``: venue -> symbol -> BookSync, what
        the caller's ``book_of`` reads (a route whose other book is not in sync is dropped
        uncounted, as the caller's loop drops it). Each market's sync core is then held in C
        and looked up again only when ``syncs`` or the venue's dict has changed (CPython 3.11's
        dict version; later versions walk the tables on every read)."""
    def book_of(self, market: int) -> L2Book | None:
        """``market``'s book if the caller's ``book_of`` would give it now (its sync in sync),
        else None: what the touch test and the compiled decision read (attached only)."""
    def in_sync(self, market: int) -> bool:
        """:meth:`book_of` is not None."""
    def walked_book_of(self, market: int) -> L2Book | None:
        """:meth:`book_of` by walking ``syncs[venue][symbol]`` (the rule it equals)."""
    def update(self, market: int, book: L2Book, now_ns: int | None = None) -> tuple[int, ...]:
        """Read ``book``'s touch into ``market``; the ids of its routes that cross by
        ``min_profit_bps`` against a known market (or need the live rate), in route order
        (attached: less those the pre-check refuses at ``now_ns``, None: the gate's clock)."""
    def touch(
        self, markets: dict[str, int], symbol: str, book: L2Book, now_ns: int | None = None
    ) -> tuple[int, ...] | None:
        """:meth:`update` for the engine's callback once every touch is known: ``markets``
        (one venue's symbol -> market id) finds the market (``()``: not compared); None, with
        nothing read, while a touch is unknown (the caller goes through the strategy)."""
    def crossing(self, market: int, now_ns: int | None = None) -> tuple[int, ...]:
        """:meth:`update` without reading a book."""
