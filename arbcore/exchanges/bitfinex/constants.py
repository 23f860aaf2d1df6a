"""Bitfinex v2: endpoints, channels, flags, keepalive and limits, default fees. Data only.

Source: docs.bitfinex.com (ws-general, ws-public-books, ws-websocket-checksum, rest-public-book);
protocols/exchanges-b.md section 4.
"""

from collections.abc import Mapping
from typing import Final

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.model import OrderStatus, OrderType, TimeInForce
from arbcore.net.ratelimit import BudgetSpec

VENUE: Final = "bitfinex"

WS_PUBLIC_URL: Final = "wss://api-pub.bitfinex.com/ws/2"
WS_AUTH_URL: Final = "wss://api.bitfinex.com/ws/2"
REST_PUBLIC_URL: Final = "https://api-pub.bitfinex.com"
#: ``[[pair, ...]]``: the spot ("exchange") pairs, names only (no precision or minimums).
INSTRUMENTS_PATH: Final = "pub:list:pair:exchange"
#: ``[[pair, [.., min order size (3), max order size (4), ..]], ...]``: not in the capture.
PAIR_INFO_PATH: Final = "/v2/conf/pub:info:pair"
#: REST book ``/v2/book/{symbol}/{prec}?len=``: a flat list with no sequence id, so the WS
#: snapshot is the book's source; 240 requests a minute.
REST_BOOK_PATH: Final = "/v2/book/"

BOOK_CHANNEL: Final = "book"
#: Aggregated precision whose levels are ``[price, count, amount]``.
PRECISION: Final = "P0"
FREQUENCY: Final = "F0"
BOOK_LENGTHS: Final = ("1", "25", "100", "250")
#: L2Book layout: 0 is the flat sorted array. A book channel holds at most 250 price points a
#: side (BOOK_LENGTHS); a tick window sized from the price (64k ticks, 1 MB a book) would hold
#: few of them and cost its allocation and recentring at every snapshot.
BOOK_WINDOW_TICKS: Final = 0

#: ``{"event":"conf","flags":SUM}`` before subscribing.
FLAG_SEQ_ALL: Final = 65536  # every message ends with a connection-wide sequence number
FLAG_OB_CHECKSUM: Final = 131072  # [chanId, "cs", checksum] after book changes
FLAG_TIMESTAMP: Final = 32768
FLAG_BULK_UPDATES: Final = 536870912
CONF_FLAGS: Final = FLAG_SEQ_ALL | FLAG_OB_CHECKSUM
#: Levels per side the checksum covers.
CHECKSUM_DEPTH: Final = 25

#: Info codes (``{"event":"info","code":...}``, docs ws-general; the same constants as the
#: official client bitfinex-api-node's INFO_CODES): 20051 the server stops or restarts
#: (reconnect), 20060 maintenance starts (pause, keep the connection), 20061 it ended
#: (unsubscribe and subscribe every channel again).
INFO_RECONNECT: Final = 20051
INFO_MAINTENANCE_START: Final = 20060
INFO_MAINTENANCE_END: Final = 20061

#: A channel with nothing to send gets a heartbeat ``[chanId, "hb"]`` this often (ws-general;
#: protocols notes 4.1 mark the 15 s as recalled, not re-read).
HEARTBEAT_INTERVAL_S: Final = 15.0

#: 20 connections a minute per IP on api-pub; at most 25 subscriptions per connection (10305).
MAX_CONNECTIONS_PER_MINUTE: Final = 20
MAX_SUBSCRIPTIONS: Final = 25
PING_FRAME: Final = '{"event":"ping","cid":1}'

#: Prices have 5 significant digits and amounts 8 decimals; no per-pair tick exists, so every
#: pair is kept at 8 decimals for both (the recording's finest price is 1.1e-7).
PRICE_STEP: Final = "0.00000001"
AMOUNT_STEP: Final = "0.00000001"

#: Historical base schedule, 0.1 % maker / 0.2 % taker; read the account's own rates at run time.
DEFAULT_MAKER_FEE: Final = 0.001
DEFAULT_TAKER_FEE: Final = 0.002

#: Bitfinex currency codes that differ from the unified ones.
CURRENCY_ALIASES: Final = {"UST": "USDT"}

# --- Trading (REST, authenticated): execution.py and auth.py -------------------------------------
# Sources: docs.bitfinex.com rest-auth, reference/rest-auth-submit-order, -cancel-order,
# -retrieve-orders(-by-symbol), -orders-history-by-symbol, -wallets, -summary,
# abbreviations-glossary (order statuses, error codes), requirements-and-limitations, v1 readme
# (price precision); mirrored in github rosssaunders/coincise docs/bitfinex;
# protocols/exchanges-b.md section 4.

#: Authenticated calls: POST to this host with a JSON body, signed (auth.py).
REST_AUTH_URL: Final = "https://api.bitfinex.com"
SUBMIT_ORDER_PATH: Final = "/v2/auth/w/order/submit"
#: Cancel by ``id`` (or ``cid`` with its UTC ``cid_date``).
CANCEL_ORDER_PATH: Final = "/v2/auth/w/order/cancel"
#: Active orders of a symbol: ``/v2/auth/r/orders/tBTCUSD``; closed ones (two weeks): + ``/hist``.
ACTIVE_ORDERS_PATH: Final = "/v2/auth/r/orders"
ORDERS_HISTORY_SUFFIX: Final = "/hist"
#: How many closed orders of a symbol are searched for a client order id (the venue allows 2500).
HISTORY_LIMIT: Final = 500
WALLETS_PATH: Final = "/v2/auth/r/wallets"
#: Index 4: ``[[maker, ...], [taker_to_crypto, taker_to_stable, taker_to_fiat, ...]]``.
SUMMARY_PATH: Final = "/v2/auth/r/summary"
CONF_PATH: Final = "/v2/conf/"
JSON_CONTENT_TYPE: Final = "application/json"

#: Nonces in microseconds (the docs' ``Date.now() * 1000``), strictly increasing per key.
NONCE_SCALE: Final = 1_000_000
#: ``cid`` is an integer below 2**45, "unique in the day (UTC)"; the venue does not promise to
#: refuse a repeat, so a repeated cid can be a second order.
CID_LIMIT: Final = 2**45
#: Prices carry at most 5 significant digits; the API truncates more (a sell would get cheaper).
PRICE_SIGNIFICANT_DIGITS: Final = 5
#: ``flags``: post-only (a post-only order that would take is canceled: "POSTONLY CANCELED").
FLAG_POST_ONLY: Final = 4096
#: Spot ("exchange" wallet) order types arbcore sends and reads back. An EXCHANGE FOK that
#: could not fill whole ends "FILLORKILL CANCELED" (docs: abbreviations-glossary, order status).
ORDER_TYPES: Final[Mapping[str, tuple[OrderType, TimeInForce]]] = {
    "EXCHANGE LIMIT": (OrderType.LIMIT, TimeInForce.GTC),
    "EXCHANGE IOC": (OrderType.LIMIT, TimeInForce.IOC),
    "EXCHANGE FOK": (OrderType.LIMIT, TimeInForce.FOK),
    "EXCHANGE MARKET": (OrderType.MARKET, TimeInForce.GTC),
}
#: The spot wallet balances trade from.
EXCHANGE_WALLET: Final = "exchange"

#: 10 to 90 requests a minute per endpoint (submit, cancel, orders, history, wallets, summary: 90);
#: past it the IP is blocked for 60 s with ``{"error": "ERR_RATE_LIMIT"}``. One budget per
#: endpoint, as the venue counts: a burst of placements does not hold up the reads.
RATE_LIMIT_PER_MINUTE: Final = 90
RATE_LIMITS: Final = (
    BudgetSpec("per endpoint", RATE_LIMIT_PER_MINUTE, 60.0, "request", per="endpoint"),
)
RATE_LIMIT_BLOCK_S: Final = 60.0

#: Order STATUS (index 13) by its leading words: ``EXECUTED @ 107.6(-0.2)``, ``CANCELED was:
#: PARTIALLY FILLED @ ...``; the longest known prefix wins. ``PARTIALLY FILLED`` is open in the
#: active list and canceled (with its fill) in the history; insufficient balance G1 traded what it
#: could and canceled the rest, U1 was refused outright.
ORDER_STATES: Final[Mapping[str, OrderStatus]] = {
    "ACTIVE": OrderStatus.OPEN,
    "PARTIALLY FILLED": OrderStatus.PARTIALLY_FILLED,
    "EXECUTED": OrderStatus.FILLED,
    "FORCED EXECUTED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "POSTONLY CANCELED": OrderStatus.REJECTED,
    "IOC CANCELED": OrderStatus.EXPIRED,
    "FILLORKILL CANCELED": OrderStatus.EXPIRED,
    "INSUFFICIENT BALANCE (U1)": OrderStatus.REJECTED,
    "INSUFFICIENT BALANCE (G1)": OrderStatus.CANCELED,
    "INSUFFICIENT MARGIN": OrderStatus.REJECTED,
    "RSN_DUST": OrderStatus.CANCELED,
    "RSN_PAUSE": OrderStatus.CANCELED,
    "RSN_BOOK_SLIP": OrderStatus.CANCELED,
    "RSN_POS_REDUCE_INCR": OrderStatus.CANCELED,
    "RSN_POS_REDUCE_FLIP": OrderStatus.CANCELED,
    "RSN_POS_NOTFOUND": OrderStatus.CANCELED,
}

#: Error replies ``["error", CODE, "text"]`` (HTTP 4xx/5xx) and notifications with STATUS
#: ``ERROR``/``FAILURE`` (HTTP 200). The text decides first (ccxt's "broad" strings), in this
#: order, then the code; generic codes (10000, 10001) fall through to ExchangeError.
ERROR_TEXTS: Final[tuple[tuple[str, type[ExchangeError]], ...]] = (
    ("not enough exchange balance", InsufficientFunds),
    ("available balance is only", InsufficientFunds),
    ("order not found", OrderNotFound),
    ("err_rate_limit", RateLimitExceeded),
    ("ratelimit", RateLimitExceeded),
    ("nonce", AuthenticationError),
    ("apikey", AuthenticationError),
    ("api_key", AuthenticationError),
    ("maintenance", ExchangeNotAvailable),
    ("temporarily_unavailable", ExchangeNotAvailable),
    ("invalid order", InvalidOrder),
    ("minimum size", InvalidOrder),
    ("symbol: invalid", InvalidOrder),
)
ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = {
    10008: ExchangeNotAvailable,  # ERR_CONCURRENCY
    10020: InvalidOrder,  # ERR_PARAMS
    10100: AuthenticationError,  # ERR_AUTH_FAIL
    10111: AuthenticationError,  # ERR_AUTH_PAYLOAD
    10112: AuthenticationError,  # ERR_AUTH_SIG
    10113: AuthenticationError,  # ERR_AUTH_HMAC
    10114: AuthenticationError,  # ERR_AUTH_NONCE
    11000: ExchangeNotAvailable,  # ERR_READY: not ready, try again later
    20060: ExchangeNotAvailable,  # maintenance
}

#: The account summary's taker fee depends on what the quote is (crypto, stablecoin or fiat).
FIAT_CURRENCIES: Final = frozenset({"USD", "EUR", "GBP", "JPY", "CNH", "CHF", "TRY", "MXN"})
STABLE_CURRENCIES: Final = frozenset(
    {"USDT", "UST", "USDC", "UDC", "EURT", "EUT", "CNHT", "XCHF", "DAI", "TUSD", "TSD", "PAX"}
)
