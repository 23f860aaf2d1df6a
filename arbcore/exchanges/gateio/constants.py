"""Gate.io spot (API v4): endpoints and default fees. Data only."""

from typing import Final

from arbcore.model import OrderStatus
from arbcore.net.ratelimit import BudgetSpec

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
#: Channels with no book data in them (the recording's tickers, trades and candles, and the
#: reply to spot.ping): the feed sets their frames aside unread. ``spot.order_book`` and
#: ``spot.book_ticker`` are left out on purpose: they carry levels.
NO_BOOK_CHANNELS: Final = ("spot.tickers", "spot.trades", "spot.candlesticks", "spot.pong")
#: The ``event`` of Gate's replies to a (un)subscribe request, on any channel: no book data.
ACK_EVENTS: Final = ("subscribe", "unsubscribe")
#: Public REST: 200 requests / 10 s per endpoint per IP; WS: <= 300 connections per IP.
PUBLIC_REQUESTS_PER_10S: Final = 200
MAX_WS_CONNECTIONS_PER_IP: Final = 300

#: Book levels carry more digits than the pair list states: sizes up to 10 decimals at an
#: amount_precision of 3 (OMG_USDT 152.9783789102) and prices finer than ``precision``
#: (ZKS_ETH 8 decimals at precision 6) in the recording. Books keep at least these scales;
#: 10 size decimals hold levels up to 922,337,203 units.
BOOK_PRICE_MIN_DECIMALS: Final = 8
BOOK_SIZE_MIN_DECIMALS: Final = 10
#: L2Book layout: 0 is the flat sorted array. Gate's books are at most 100 levels a side
#: (SNAPSHOT_LIMIT, the 100 ms channel's depth) and their 8-decimal raw ticks are far finer than
#: the pairs' real ones, so a tick window (sized from the price: 64k ticks, 1 MB a book) would
#: hold almost none of their levels.
BOOK_WINDOW_TICKS: Final = 0

# --- Trading over REST (auth.py, execution.py). Sources: protocols/exchanges-b.md 2.4-2.7 and the
# Gate APIv4 docs (gate.io/docs/developers/apiv4/en/: spot, error handling, rate limits).

#: The signed URL is the path with ``/api/v4`` and without the host, so trading requests carry
#: full paths and their client is rooted at the host.
REST_HOST_URL: Final = "https://api.gateio.ws"
API_PREFIX: Final = "/api/v4"
#: ``Timestamp`` header: unix seconds, refused beyond 60 s from the server's clock.
MAX_CLOCK_SKEW_S: Final = 60.0
#: ``{"server_time": 1597026383085}`` (ms, public).
SERVER_TIME_PATH: Final = "/api/v4/spot/time"
#: POST: create (HTTP 201, the order in full by default); GET: ``?currency_pair=&status=open``.
ORDERS_PATH: Final = "/api/v4/spot/orders"
#: GET / DELETE ``?currency_pair=``: ``order_id`` is the order id, or ``t-...`` (the ``text``)
#: while the order is open; a finished order is found by its id only.
ORDER_PATH: Final = "/api/v4/spot/orders/{order_id}"
#: All pairs: ``[{"currency_pair", "total", "orders": [...]}]``.
OPEN_ORDERS_PATH: Final = "/api/v4/spot/open_orders"
#: ``status=open`` lists at most 100 a page (also the page read for finished orders).
ORDERS_PAGE_LIMIT: Final = 100
ACCOUNTS_PATH: Final = "/api/v4/spot/accounts"
#: ``?currency_pair=``: ``maker_fee`` / ``taker_fee`` fractions for the account.
FEE_PATH: Final = "/api/v4/spot/fee"
SIGNED_INSTRUMENTS_PATH: Final = API_PREFIX + INSTRUMENTS_PATH
#: ``account`` of an order: spot (unified accounts use "unified").
DEFAULT_ACCOUNT: Final = "spot"
#: The client order id travels in ``text``: ``t-`` then at most 28 of ``[0-9A-Za-z_.-]``.
CLIENT_ORDER_ID_PREFIX: Final = "t-"
CLIENT_ORDER_ID_PATTERN: Final = r"[0-9A-Za-z_.-]{1,28}"

#: Private endpoints 200 requests per 10 s each; spot placement and amend 10 per second per UID
#: and market (cancel 200/s). One 200 per 10 s budget across endpoints and 10 placements a
#: second across markets stay under both.
RATE_LIMITS: Final = (
    BudgetSpec("gateio private requests", 200, 10.0, "request"),
    BudgetSpec("gateio order placements", 10, 1.0, "order"),
)
#: Throttled replies may carry the reset time (ms since the epoch) of the window.
RATE_LIMIT_RESET_HEADER: Final = "X-Gate-RateLimit-Reset-Timestamp"

#: ``status`` -> OrderStatus (open with a fill is partially filled).
ORDER_STATUSES: Final = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELED,
}
#: ``finish_as`` of a finished order -> OrderStatus: the venue's reason decides.
FINISH_AS: Final = {
    "open": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELED,
    "liquidate_cancelled": OrderStatus.CANCELED,
    "stp": OrderStatus.CANCELED,  # self-trade prevention
    "unknown": OrderStatus.CANCELED,
    "ioc": OrderStatus.EXPIRED,
    "fok": OrderStatus.EXPIRED,
    "small": OrderStatus.EXPIRED,  # the rest too small to trade
    "depth_not_enough": OrderStatus.EXPIRED,
    "trader_not_enough": OrderStatus.EXPIRED,
    "poc": OrderStatus.REJECTED,  # a post-only order that would have taken
}

#: Error ``label`` (non-2xx body ``{"label", "message"}``) -> ExchangeError subclass name.
ERROR_LABELS: Final = {
    "INVALID_CREDENTIALS": "AuthenticationError",
    "INVALID_KEY": "AuthenticationError",
    "IP_FORBIDDEN": "AuthenticationError",
    "READ_ONLY": "AuthenticationError",
    "INVALID_SIGNATURE": "AuthenticationError",
    "MISSING_REQUIRED_HEADER": "AuthenticationError",
    "REQUEST_EXPIRED": "AuthenticationError",
    "ACCOUNT_LOCKED": "AuthenticationError",
    "FORBIDDEN": "AuthenticationError",
    "BALANCE_NOT_ENOUGH": "InsufficientFunds",
    "MARGIN_BALANCE_NOT_ENOUGH": "InsufficientFunds",
    "QUANTITY_NOT_ENOUGH": "InsufficientFunds",
    "INVALID_PARAM_VALUE": "InvalidOrder",
    "INVALID_PROTOCOL": "InvalidOrder",
    "INVALID_ARGUMENT": "InvalidOrder",
    "INVALID_REQUEST_BODY": "InvalidOrder",
    "MISSING_REQUIRED_PARAM": "InvalidOrder",
    "BAD_REQUEST": "InvalidOrder",
    "INVALID_PRECISION": "InvalidOrder",
    "INVALID_CURRENCY": "InvalidOrder",
    "INVALID_CURRENCY_PAIR": "InvalidOrder",
    "POC_FILL_IMMEDIATELY": "InvalidOrder",
    "AMOUNT_TOO_LITTLE": "InvalidOrder",
    "AMOUNT_TOO_MUCH": "InvalidOrder",
    "FOK_NOT_FILL": "InvalidOrder",
    "TRADE_RESTRICTED": "InvalidOrder",
    "INVALID_CLIENT_ORDER_ID": "InvalidOrder",
    "ORDER_EXISTS": "InvalidOrder",
    "REPEATED_CREATION": "InvalidOrder",
    "ORDER_CLOSED": "InvalidOrder",  # cancel of a finished order
    "ORDER_CANCELLED": "InvalidOrder",
    "CANCEL_FAIL": "InvalidOrder",
    "ORDER_NOT_FOUND": "OrderNotFound",
    "TOO_MANY_REQUESTS": "RateLimitExceeded",
    "TOO_FAST": "RateLimitExceeded",
    "INTERNAL": "ExchangeNotAvailable",
    "SERVER_ERROR": "ExchangeNotAvailable",
    "TOO_BUSY": "ExchangeNotAvailable",
}
#: ``Timestamp`` too far from the server's clock: resynchronise and send once more.
CLOCK_ERROR_LABEL: Final = "REQUEST_EXPIRED"
#: Cancel of an order that already finished: read it back instead.
FINISHED_LABELS: Final = ("ORDER_CLOSED", "ORDER_CANCELLED")
