"""The engine's balances and reservations: one copy of each number, in C arrays."""

from collections.abc import Iterable, Iterator, Mapping, MutableMapping

Key = tuple[str, str]  # (venue, asset)

class Ledger:
    """Per (venue, asset) a slot in C arrays: the venue's free balance and what admitted trades
    reserved of it. :meth:`balances` is a venue's balances as a dict (the shadow venue's own,
    ``TradingVenues.held[venue].free``), :attr:`reserved` the reservations as the orchestrator's
    defaultdict(float); the engine's compiled decision reads and reserves through its routes'
    slots, resolved once."""

    reserved: Reserved
    def __init__(self) -> None: ...
    def balances(self, venue: str) -> Balances:
        """``venue``'s free balances (one view per venue, made on first ask)."""
    def available(self, venue: str, asset: str) -> float:
        """Free minus reserved (each 0.0 when absent): what the compiled decision reads."""
    def release(self, reserved: tuple[tuple[str, str, float], ...]) -> None:
        """``reserved[(venue, asset)] -= amount`` for each ``(venue, asset, amount)`` in order
        (as the :attr:`reserved` face does it), in one call: a ticket's reservation ending."""

class Balances(MutableMapping[str, float]):
    """One venue's free balances (asset -> amount) as a dict: iteration in the order assets
    came in; ``replace`` makes it another mapping's copy (its keys, in its order)."""

    ledger: Ledger
    venue: str
    def __getitem__(self, asset: str) -> float: ...
    def __setitem__(self, asset: str, amount: float) -> None: ...
    def __delitem__(self, asset: str) -> None: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def replace(self, balances: Mapping[str, float] | Iterable[tuple[str, float]]) -> None: ...
    def copy(self) -> dict[str, float]: ...

class Reserved(MutableMapping[Key, float]):
    """(venue, asset) -> amount reserved, as a defaultdict(float): reading a missing key adds
    it with 0.0; iteration in the order keys came in."""

    def __getitem__(self, key: Key) -> float: ...
    def __setitem__(self, key: Key, amount: float) -> None: ...
    def __delitem__(self, key: Key) -> None: ...
    def __iter__(self) -> Iterator[Key]: ...
    def __len__(self) -> int: ...
    def copy(self) -> dict[Key, float]: ...
