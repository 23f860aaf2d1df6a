"""Kraken spot: endpoints, channels, keepalive, limits and default fees. Data only.

Sources: ../shared/protocols/exchanges-b.md section 3 (Kraken).
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
from arbcore.model import OrderStatus, OrderType
from arbcore.net.ratelimit import BudgetSpec

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
#: L2Book layout: 0 is the flat sorted array. A book holds at most its subscribed depth (1,000
#: levels a side at most); on the real recording the flat layout took 5 % fewer instructions a
#: message than the 64k-tick window, whose allocation and recentring each snapshot pays.
BOOK_WINDOW_TICKS: Final = 0
BOOK_DEPTH: Final = 1000

#: The checksum covers the best 10 levels of each side (asks low->high, then bids high->low).
CHECKSUM_LEVELS: Final = 10

#: Heartbeats arrive about once a second when idle (v1 only with a subscription); application
#: ping ``{"event":"ping","reqid":n}`` (v1) / ``{"method":"ping","req_id":n}`` (v2).
HEARTBEAT_INTERVAL_S: Final = 1.0
PING_INTERVAL_S: Final = 20.0
#: v1 ``event`` frames that carry no book data and no subscription result (the feed reads
#: nothing from them): heartbeats, the connection's status, ping answers.
NO_BOOK_EVENTS: Final = ("heartbeat", "systemStatus", "pong")

#: REST call counter per API key (Starter tier): max 15, decaying by 0.33 per second.
REST_COUNTER_MAX: Final = 15
REST_COUNTER_DECAY_PER_S: Final = 0.33

# --- Trading (REST, private): execution.py and auth.py -------------------------------------------
# Sources: krakenfx/api-specs spot-rest (openapi_v3.yaml, schemas/requests, responses) and the
# docs.kraken.com guides spot-rest-auth, spot-rest-ratelimits, spot-ratelimits, spot-errors,
# spot-clordid.

#: Private calls: POST, form-encoded body led by ``nonce``; reply ``{"error": [...], "result"}``.
ADD_ORDER_PATH: Final = "/0/private/AddOrder"
#: Cancels by ``txid`` or ``cl_ord_id``: ``{"count": 1}``; unknown: ``EOrder:Unknown order``.
CANCEL_ORDER_PATH: Final = "/0/private/CancelOrder"
#: OpenOrders and ClosedOrders filter by ``cl_ord_id`` (QueryOrders takes only txids).
OPEN_ORDERS_PATH: Final = "/0/private/OpenOrders"
CLOSED_ORDERS_PATH: Final = "/0/private/ClosedOrders"
#: ``txid=``: orders by Kraken's id (how an IOC or market order's outcome is read after AddOrder).
QUERY_ORDERS_PATH: Final = "/0/private/QueryOrders"
#: ``{asset: {"balance", "hold_trade", "credit"?, "credit_used"?}}``; available = balance + credit -
#: credit_used - hold_trade.
BALANCE_PATH: Final = "/0/private/BalanceEx"
#: ``pair=``: the account's ``fees`` (taker) and ``fees_maker`` per pair, in percent.
TRADE_VOLUME_PATH: Final = "/0/private/TradeVolume"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded; charset=utf-8"

#: Nonces in milliseconds (the docs' examples); Kraken checks that they increase, not the clock.
NONCE_SCALE: Final = 1000

#: ``cl_ord_id``: a UUID (36 characters with dashes, or 32 hex digits) or free ASCII text of at most
#: 18 characters. Unique among the client's OPEN orders only: a closed id can be used again.
CLIENT_ORDER_ID_MAX_TEXT: Final = 18

#: REST call counter, Starter tier: +1 per call (AddOrder and CancelOrder do not count), max 15,
#: decays 0.33/s. At most 15 calls in any 15/0.33 s window never lets the counter pass 15.
#: Matching engine, Starter tier: a counter per pair (a budget per instrument), threshold 60,
#: decays 1/s, +1 per order; cancelling an order younger than 300 s adds 1..8 more, which a
#: per-request budget cannot see
#: (the venue's ``EOrder:Rate limit exceeded`` answers that). Intermediate: 20 / 0.5 and 125 / 2.34;
#: Pro: 20 / 1 and 180 / 3.75 -- pass those as ``limits`` to the execution.
ORDER_RATE_THRESHOLD: Final = 60
ORDER_RATE_DECAY_PER_S: Final = 1.0
RATE_LIMITS: Final = (
    BudgetSpec("rest_counter", REST_COUNTER_MAX, REST_COUNTER_MAX / REST_COUNTER_DECAY_PER_S,
               "weight"),
    BudgetSpec("matching_engine", ORDER_RATE_THRESHOLD,
               ORDER_RATE_THRESHOLD / ORDER_RATE_DECAY_PER_S, "order", per="instrument"),
)  # fmt: skip
#: Waits after the venue said "rate limit exceeded": the time one counter unit takes to decay.
REST_RATE_LIMIT_RETRY_S: Final = 1 / REST_COUNTER_DECAY_PER_S
ORDER_RATE_LIMIT_RETRY_S: Final = 1 / ORDER_RATE_DECAY_PER_S

#: Order ``status`` -> arbcore's; ``open``/``pending`` with ``vol_exec > 0`` is partially filled and
#: ``closed`` short of ``vol`` ends as canceled with its fill (execution.order_status).
ORDER_STATES: Final[Mapping[str, OrderStatus]] = {
    "pending": OrderStatus.OPEN,
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
}
#: ``descr.ordertype`` values arbcore trades; stops and take-profits are not represented.
ORDER_TYPES: Final[Mapping[str, OrderType]] = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}

#: Error strings ``<E|W><Category>:<Message>`` by prefix (the longest known prefix wins).
#: ``EOrder:Unknown order`` is ccxt's mapping (the reply to a cancel of an unknown order).
ERRORS: Final[Mapping[str, type[ExchangeError]]] = {
    "EAPI:Invalid key": AuthenticationError,
    "EAPI:Invalid signature": AuthenticationError,
    "EAPI:Invalid nonce": AuthenticationError,
    "EGeneral:Permission denied": AuthenticationError,
    "EGeneral:Temporary lockout": AuthenticationError,
    "EOrder:Insufficient funds": InsufficientFunds,
    "EGeneral:Invalid arguments": InvalidOrder,
    "EQuery:Unknown asset pair": InvalidOrder,
    "EOrder:Order minimum not met": InvalidOrder,
    "EOrder:Cost minimum not met": InvalidOrder,
    "EOrder:Unknown order": OrderNotFound,
    "EAPI:Rate limit exceeded": RateLimitExceeded,
    "EOrder:Rate limit exceeded": RateLimitExceeded,
    "EService: Throttled": RateLimitExceeded,  # "EService: Throttled: [UNIX timestamp]"
    "EService:Unavailable": ExchangeNotAvailable,
    "EService:Busy": ExchangeNotAvailable,
    "EService:Market in cancel_only mode": ExchangeNotAvailable,
    "EService:Market in post_only mode": ExchangeNotAvailable,
    "EService:Deadline elapsed": ExchangeNotAvailable,
    "EGeneral:Internal error": ExchangeNotAvailable,
}
#: Fallback by category (the text before the first colon) for strings the table does not know.
ERROR_CATEGORIES: Final[Mapping[str, type[ExchangeError]]] = {
    "EOrder": InvalidOrder,
    "EQuery": InvalidOrder,
    "EService": ExchangeNotAvailable,
}

#: Kraken's legacy X/Z-prefixed asset codes (balances, AssetPairs ``base``/``quote``) -> the
#: ``wsname`` code, from the recorded AssetPairs; ASSET_ALIASES then unifies XBT and XDG.
LEGACY_ASSET_CODES: Final[Mapping[str, str]] = {
    "XETC": "ETC", "XETH": "ETH", "XLTC": "LTC", "XMLN": "MLN", "XREP": "REP", "XXBT": "XBT",
    "XXDG": "XDG", "XXLM": "XLM", "XXMR": "XMR", "XXRP": "XRP", "XZEC": "ZEC", "ZAUD": "AUD",
    "ZCAD": "CAD", "ZEUR": "EUR", "ZGBP": "GBP", "ZJPY": "JPY", "ZUSD": "USD",
}  # fmt: skip
