"""Kraken spot: endpoints, channels, keepalive, limits and default fees. Data only.

Sources: ../shared/protocols/exchanges-b.md section 3 (Kraken).
"""

from typing import Final

VENUE: Final = "kraken"

REST_BASE_URL: Final = "https://api.kraken.com"
#: result{pair: {wsname, base, quote, pair_decimals, lot_decimals, ordermin, costmin, ...}}.
INSTRUMENTS_PATH: Final = "/0/public/AssetPairs"
#: REST depth (count 1..500): no sequence id, so it cannot be aligned with the WebSocket stream.
DEPTH_PATH: Final = "/0/public/Depth?pair={pair}&count={count}"

#: Base tier of the AssetPairs fee tables (``fees_maker``/``fees`` at volume 0): 0.16 % / 0.26 %.
#: Used when an entry carries no table; the account's own rate comes from private TradeVolume.
DEFAULT_MAKER_FEE: Final = 0.0016
DEFAULT_TAKER_FEE: Final = 0.0026
#: AssetPairs ``status`` values a pair trades under (absent in captures before 2022).
TRADING_STATUSES: Final = frozenset({"online"})

#: Kraken's own asset codes that other venues spell differently; v2 WebSocket symbols
#: (``BTC/USD``) use the right-hand names, v1 ``wsname`` the left-hand ones (``XBT/USD``).
ASSET_ALIASES: Final = {"XBT": "BTC", "XDG": "DOGE"}

#: WebSocket API v1 (frozen, still served): array frames, ``wsname`` pairs, checksum in updates.
WS_V1_URL: Final = "wss://ws.kraken.com"
#: WebSocket API v2 (recommended): object frames, ``BTC/USD`` symbols, checksum in snapshots too.
WS_V2_URL: Final = "wss://ws.kraken.com/v2"
BOOK_CHANNEL: Final = "book"
TICKER_CHANNEL: Final = "ticker"
#: Subscribable depths; v1 channel names carry it (``book-1000``). Default 10 in v1 and v2.
BOOK_DEPTHS: Final = (10, 25, 100, 500, 1000)
DEFAULT_BOOK_DEPTH: Final = 10
BOOK_DEPTH: Final = 1000

#: The checksum covers the best 10 levels of each side (asks low->high, then bids high->low).
CHECKSUM_LEVELS: Final = 10

#: Heartbeats arrive about once a second when idle (v1 only with a subscription); application
#: ping ``{"event":"ping","reqid":n}`` (v1) / ``{"method":"ping","req_id":n}`` (v2).
HEARTBEAT_INTERVAL_S: Final = 1.0
PING_INTERVAL_S: Final = 20.0

#: REST call counter per API key (Starter tier): max 15, decaying by 0.33 per second.
REST_COUNTER_MAX: Final = 15
REST_COUNTER_DECAY_PER_S: Final = 0.33
