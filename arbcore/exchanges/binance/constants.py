"""Binance spot: endpoints and default fees. Data only."""

from collections.abc import Mapping
from typing import Final

from arbcore.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    RateLimitExceeded,
)
from arbcore.model import OrderStatus, OrderType, TimeInForce
from arbcore.net.ratelimit import BudgetSpec

VENUE: Final = "binance"

REST_BASE_URL: Final = "https://api.binance.com"
#: symbols[] with status, baseAsset/quoteAsset and filters (PRICE_FILTER, LOT_SIZE, (MIN_)NOTIONAL).
INSTRUMENTS_PATH: Final = "/api/v3/exchangeInfo"

#: Regular-user spot fees, 0.1 % maker / 0.1 % taker (25 % off when paid in BNB). Secondary source
#: (binance.com/square posts; the official fee page is not in the protocol notes); an account's own
#: rates come from GET /api/v3/account/commission. protocols/exchanges-a.md section 1.7.
DEFAULT_MAKER_FEE: Final = 0.001
DEFAULT_TAKER_FEE: Final = 0.001

#: symbols[].status of a market open for orders (others: BREAK, HALT, PRE_TRADING, ...).
TRADING_STATUS: Final = "TRADING"

#: Combined-stream endpoint: frames arrive as {"stream": ..., "data": ...}. protocols notes 1.1.
WS_URL: Final = "wss://stream.binance.com:9443/stream"
#: Diff depth every 100 ms and the best bid/ask stream (the BBO cross-check).
DEPTH_STREAM: Final = "{symbol}@depth@100ms"
TICKER_STREAM: Final = "{symbol}@bookTicker"
#: REST snapshot depth to sync against (limit 5000 is the documented maximum).
SNAPSHOT_PATH: Final = "/api/v3/depth?symbol={symbol}&limit={limit}"
SNAPSHOT_LIMIT: Final = 1000
#: At most 1024 streams per connection and 5 incoming control messages per second.
MAX_STREAMS_PER_CONNECTION: Final = 1024

# --- Trading (signed REST). rest-api.md / errors.md / enums.md of binance-spot-api-docs; current
# weights from developers.binance.com (account-endpoints, trading-endpoints, 2026-01). ------------
ORDER_PATH: Final = "/api/v3/order"
OPEN_ORDERS_PATH: Final = "/api/v3/openOrders"
ACCOUNT_PATH: Final = "/api/v3/account"
COMMISSION_PATH: Final = "/api/v3/account/commission"
TIME_PATH: Final = "/api/v3/time"
#: The API key travels in this header; the signature is the last ``signature`` parameter.
API_KEY_HEADER: Final = "X-MBX-APIKEY"
SIGNATURE_PARAM: Final = "signature"
#: Accepted when timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow (max 60000).
RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60_000
#: RESULT carries the state and fills-so-far without FULL's per-trade list.
ORDER_RESPONSE_TYPE: Final = "RESULT"
#: newClientOrderId: 1-36 of [.A-Z:/a-z0-9_-]; "a unique id among open orders" only (a reused id is
#: accepted again once the first order is filled), hence placement looks up before any resend.
CLIENT_ORDER_ID_PATTERN: Final = r"^[.A-Z:/a-z0-9_-]{1,36}$"

#: Request weights (REQUEST_WEIGHT budget).
WEIGHT_ORDER: Final = 1
WEIGHT_CANCEL: Final = 1
WEIGHT_QUERY_ORDER: Final = 4
WEIGHT_OPEN_ORDERS_SYMBOL: Final = 6
WEIGHT_OPEN_ORDERS_ALL: Final = 80
WEIGHT_ACCOUNT: Final = 20
WEIGHT_COMMISSION: Final = 20
WEIGHT_TIME: Final = 1
WEIGHT_EXCHANGE_INFO: Final = 20

#: enums.md rate limiters: 6000 weight/min and 61000 raw requests/5 min per IP; 100 orders/10 s
#: and 200000 orders/day per account (placements only: cancels are not counted). exchangeInfo's
#: ``rateLimits`` is authoritative and can replace these (``execution.budgets_from_rate_limits``).
RATE_LIMITS: Final = (
    BudgetSpec("REQUEST_WEIGHT 1m", 6000, 60.0, "weight"),
    BudgetSpec("RAW_REQUESTS 5m", 61_000, 300.0, "request"),
    BudgetSpec("ORDERS 10s", 100, 10.0, "order"),
    BudgetSpec("ORDERS 1d", 200_000, 86_400.0, "order"),
)
#: rateLimits ``rateLimitType`` -> what a request spends (BudgetSpec unit).
RATE_LIMIT_UNITS: Final[Mapping[str, str]] = {
    "REQUEST_WEIGHT": "weight",
    "RAW_REQUESTS": "request",
    "ORDERS": "order",
}
#: rateLimits ``interval`` -> seconds.
RATE_LIMIT_INTERVAL_S: Final[Mapping[str, float]] = {
    "SECOND": 1.0,
    "MINUTE": 60.0,
    "HOUR": 3600.0,
    "DAY": 86_400.0,
}

#: Order status (enums.md). PENDING_CANCEL is "currently unused"; an order in it is still live.
ORDER_STATUS: Final[Mapping[str, OrderStatus]] = {
    "NEW": OrderStatus.OPEN,
    "PENDING_NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.OPEN,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
#: Order type -> arbcore's; LIMIT_MAKER is the post-only limit. Stop types read as what they
#: become once triggered (orders placed by other tools can show up in open orders).
ORDER_TYPES: Final[Mapping[str, OrderType]] = {
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LOSS": OrderType.MARKET,
    "STOP_LOSS_LIMIT": OrderType.LIMIT,
    "TAKE_PROFIT": OrderType.MARKET,
    "TAKE_PROFIT_LIMIT": OrderType.LIMIT,
}
POST_ONLY_TYPE: Final = "LIMIT_MAKER"
#: timeInForce -> arbcore's (an unfilled FOK ends EXPIRED: "LIMIT FOK orders with no fill").
TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
}

#: errors.md codes -> the arbcore error. -1006/-1007: "execution status unknown" (NetworkError).
ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = {
    -1000: ExchangeNotAvailable,  # UNKNOWN
    -1001: ExchangeNotAvailable,  # DISCONNECTED: internal error, try again
    -1002: AuthenticationError,  # UNAUTHORIZED
    -1003: RateLimitExceeded,  # TOO_MANY_REQUESTS
    -1006: NetworkError,  # UNEXPECTED_RESP: execution status unknown
    -1007: NetworkError,  # TIMEOUT: send and execution status unknown
    -1008: ExchangeNotAvailable,  # SERVER_BUSY
    -1013: InvalidOrder,  # INVALID_MESSAGE (filter failures)
    -1014: InvalidOrder,  # UNKNOWN_ORDER_COMPOSITION
    -1015: RateLimitExceeded,  # TOO_MANY_ORDERS
    -1016: ExchangeNotAvailable,  # SERVICE_SHUTTING_DOWN
    -1020: InvalidOrder,  # UNSUPPORTED_OPERATION
    -1021: AuthenticationError,  # INVALID_TIMESTAMP (outside recvWindow / 1 s ahead)
    -1022: AuthenticationError,  # INVALID_SIGNATURE
    -1111: InvalidOrder,  # BAD_PRECISION
    -1121: InvalidOrder,  # BAD_SYMBOL
    -2010: InvalidOrder,  # NEW_ORDER_REJECTED (see ERROR_MESSAGES)
    -2011: InvalidOrder,  # CANCEL_REJECTED (see ERROR_MESSAGES)
    -2013: OrderNotFound,  # NO_SUCH_ORDER
    -2014: AuthenticationError,  # BAD_API_KEY_FMT
    -2015: AuthenticationError,  # REJECTED_MBX_KEY: invalid key, IP or permissions
    -2026: OrderNotFound,  # ORDER_ARCHIVED
}
#: Every other 11xx code is a malformed request: InvalidOrder.
REQUEST_ERROR_CODES: Final = range(-1199, -1099)
#: The timestamp code: the client resyncs its clock with TIME_PATH and resends once.
TIMESTAMP_ERROR_CODE: Final = -1021
#: Matching-engine messages of -1010/-2010/-2011 that say more than their code.
ERROR_MESSAGES: Final[Mapping[str, type[ExchangeError]]] = {
    "Account has insufficient balance for requested action.": InsufficientFunds,
    "Unknown order sent.": OrderNotFound,
    "Duplicate order sent.": InvalidOrder,
    "This action is disabled on this account.": AuthenticationError,
    "This account may not place or cancel orders.": AuthenticationError,
}
#: The clOrdId is already in use: placement resolves it by looking the order up.
DUPLICATE_ORDER_MESSAGE: Final = "Duplicate order sent."
