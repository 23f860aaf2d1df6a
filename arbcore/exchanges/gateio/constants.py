"""Gate.io spot (API v4): endpoints and default fees. Data only."""

from typing import Final

VENUE: Final = "gateio"

REST_BASE_URL: Final = "https://api.gateio.ws/api/v4"
#: A bare array of pairs: id, base, quote, precision / amount_precision (decimals, not steps),
#: min_base_amount, min_quote_amount (both optional), trade_status.
INSTRUMENTS_PATH: Final = "/spot/currency_pairs"
#: The only trade_status that allows both sides (others: buyable, sellable, untradable).
TRADABLE: Final = "tradable"

#: GET /api/v4/spot/fee docs example: 0.2 % maker / 0.2 % taker (the recorded pairs' deprecated
#: ``fee`` field says 0.2 too). protocols/exchanges-b.md section 2.6.
DEFAULT_MAKER_FEE: Final = 0.002
DEFAULT_TAKER_FEE: Final = 0.002

WS_URL: Final = "wss://api.gateio.ws/ws/v4/"
#: Legacy incremental channel: payload [pair, "100ms"] (100 levels) or [pair, "20ms"] (20 levels),
#: synced to the REST snapshot's ``id``. protocols/exchanges-b.md 2.1-2.2.
ORDER_BOOK_UPDATE_CHANNEL: Final = "spot.order_book_update"
ORDER_BOOK_UPDATE_INTERVAL: Final = "100ms"
#: Order Book V2: payload ["ob.<pair>.50"] (20 ms) or ["ob.<pair>.400"] (100 ms); the first
#: message is a WS snapshot (``full``), no REST needed.
OBU_CHANNEL: Final = "spot.obu"
OBU_STREAM: Final = "ob.{pair}.{depth}"
#: REST snapshot to sync the legacy channel against (``id`` only with with_id=true).
SNAPSHOT_PATH: Final = "/spot/order_book?currency_pair={pair}&limit={limit}&with_id=true"
SNAPSHOT_LIMIT: Final = 100
#: Optional application ping (the server also uses protocol-level ping/pong).
PING_CHANNEL: Final = "spot.ping"
#: Public REST: 200 requests / 10 s per endpoint per IP; WS: <= 300 connections per IP.
PUBLIC_REQUESTS_PER_10S: Final = 200
MAX_WS_CONNECTIONS_PER_IP: Final = 300

#: Book levels carry more digits than the pair list states: sizes up to 10 decimals at an
#: amount_precision of 3 (OMG_USDT 152.9783789102) and prices finer than ``precision``
#: (ZKS_ETH 8 decimals at precision 6) in the recording. Books keep at least these scales;
#: 10 size decimals hold levels up to 922,337,203 units.
BOOK_PRICE_MIN_DECIMALS: Final = 8
BOOK_SIZE_MIN_DECIMALS: Final = 10
