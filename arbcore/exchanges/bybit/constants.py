"""Bybit v5: endpoints, channels, keepalive and limits, default fees. Data only.

Source: bybit-exchange/docs @ 072c197d (2026-07-24); protocols/exchanges-a.md section 3.
"""

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

VENUE: Final = "bybit"

WS_PUBLIC_SPOT_URL: Final = "wss://stream.bybit.com/v5/public/spot"
WS_PUBLIC_LINEAR_URL: Final = "wss://stream.bybit.com/v5/public/linear"
WS_TESTNET_SPOT_URL: Final = "wss://stream-testnet.bybit.com/v5/public/spot"

REST_BASE_URL: Final = "https://api.bybit.com"
#: result.list[] with symbol, baseCoin/quoteCoin, status, priceFilter, lotSizeFilter.
INSTRUMENTS_PATH: Final = "/v5/market/instruments-info"
#: REST book: result.{s, b, a, ts, u, seq, cts}; its ``u`` is the 1000-level stream's ``u``.
ORDERBOOK_PATH: Final = "/v5/market/orderbook"
#: Full-depth REST book (<= 10,000 levels a side) that seeds the delta-only ``orderbook.full``.
FULL_ORDERBOOK_PATH: Final = "/v5/market/full_orderbook"
#: ``retCode`` of a successful REST envelope.
OK_CODE: Final = 0

#: ``orderbook.{depth}.{symbol}``: a snapshot, then deltas; ``orderbook.full.{symbol}`` is
#: delta-only and seeded from FULL_ORDERBOOK_PATH.
BOOK_TOPIC: Final = "orderbook"
FULL_DEPTH: Final = "full"
#: Spot depths and their push intervals in ms; depth 1 is snapshot-only (re-sent after 3 s).
SPOT_DEPTHS: Final = {1: 10, 50: 20, 200: 100, 1000: 200}
#: Linear (USDT perpetual) depths, as in the recorded ``orderbook.500.XRPUSDT``.
LINEAR_DEPTHS: Final = (1, 50, 200, 500)
#: Depth whose stream is top-of-book only: parsed as a Quote, never into the deep book.
TOP_DEPTH: Final = "1"

#: Client heartbeat: send this every PING_INTERVAL_S; a silent connection is cut after 10 min.
PING_FRAME: Final = '{"req_id":"100001","op":"ping"}'
PING_INTERVAL_S: Final = 20
IDLE_CUTOFF_S: Final = 600
#: Spot: at most 10 args per subscribe request and 21,000 characters of args per connection.
MAX_SUBSCRIBE_ARGS: Final = 10
MAX_ARGS_CHARS: Final = 21_000
#: At most 500 new connections per 5 minutes per WS domain; 1000 market-data connections per IP.
MAX_CONNECTIONS_PER_5_MIN: Final = 500
MAX_CONNECTIONS_PER_IP: Final = 1000
#: REST: 600 requests per 5 s per IP (HTTP 403 beyond; back off >= 10 min).
REST_IP_LIMIT: Final = (600, 5.0)

#: Non-VIP spot fees, 0.1 % maker / 0.1 % taker (Bybit help center article 000001175).
DEFAULT_MAKER_FEE: Final = 0.001
DEFAULT_TAKER_FEE: Final = 0.001

#: status of an instrument open for orders (others: PreLaunch, Delivering, Closed).
TRADING_STATUS: Final = "Trading"
SPOT_CATEGORY: Final = "spot"

# --- Trading (signed REST). docs/v5: guide.mdx (signing), order/*.mdx, account/wallet-balance.mdx,
# account/fee-rate.mdx, market/time.mdx, enum.mdx, error.mdx, rate-limit.mdx. ----------------
ORDER_CREATE_PATH: Final = "/v5/order/create"
ORDER_CANCEL_PATH: Final = "/v5/order/cancel"
#: Open orders, and by orderLinkId also recent closed ones (the last 500 per account).
ORDER_REALTIME_PATH: Final = "/v5/order/realtime"
ORDER_HISTORY_PATH: Final = "/v5/order/history"
WALLET_BALANCE_PATH: Final = "/v5/account/wallet-balance"
FEE_RATE_PATH: Final = "/v5/account/fee-rate"
TIME_PATH: Final = "/v5/market/time"
#: Signed requests carry these headers; the string signed is timestamp + key + window + the
#: query string (GET) or the exact JSON body (POST), lowercase hex HMAC-SHA256.
API_KEY_HEADER: Final = "X-BAPI-API-KEY"
TIMESTAMP_HEADER: Final = "X-BAPI-TIMESTAMP"
RECV_WINDOW_HEADER: Final = "X-BAPI-RECV-WINDOW"
SIGN_HEADER: Final = "X-BAPI-SIGN"
#: Accepted when server_time - recv_window <= timestamp < server_time + 1000.
RECV_WINDOW_MS: Final = 5000
#: The private WebSocket's auth signs "GET/realtime" + expires (ms).
WS_AUTH_PREFIX: Final = "GET/realtime"
#: The unified trading account (UTA): spot trades from its UNIFIED wallet.
ACCOUNT_TYPE: Final = "UNIFIED"
#: orderLinkId: up to 36 of letters, digits, "-" and "_"; unique (Bybit refuses a reuse).
CLIENT_ORDER_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,36}$"
#: Spot market orders: qty in the base coin (the default for a market buy is the quote coin).
MARKET_UNIT_BASE: Final = "baseCoin"
MARKET_UNIT_QUOTE: Final = "quoteCoin"
#: Open orders per page (1..50) and a cap on pages followed.
PAGE_LIMIT: Final = 50
MAX_PAGES: Final = 100

#: Per IP 600 requests/5 s (REST_IP_LIMIT); per UID, spot create and cancel 20/s each (one
#: conservative shared 20/s here). Reads have their own per-endpoint limits (realtime/history
#: 50/s UTA, fee-rate 5/s) that a per-venue limiter cannot express; none is near at this use.
RATE_LIMITS: Final = (
    BudgetSpec("ip 5s", REST_IP_LIMIT[0], REST_IP_LIMIT[1], "request"),
    BudgetSpec("spot create+cancel 1s", 20, 1.0, "order"),
)
#: HTTP 403 is the IP ban after breaking the IP limit, "usually 30 minutes".
IP_BAN_S: Final = 1800.0
#: Per-UID limit codes say when the limit resets in X-Bapi-Limit-Reset-Timestamp (ms).
LIMIT_RESET_HEADER: Final = "X-Bapi-Limit-Reset-Timestamp"

#: orderStatus (enum.mdx). Open: New, PartiallyFilled, Untriggered; Triggered is the instant
#: between Untriggered and New. Deactivated: a spot TP/SL, conditional or OCO order cancelled
#: before it triggered.
ORDER_STATUS: Final[Mapping[str, OrderStatus]] = {
    "New": OrderStatus.OPEN,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Untriggered": OrderStatus.OPEN,
    "Triggered": OrderStatus.OPEN,
    "Rejected": OrderStatus.REJECTED,
    "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "Deactivated": OrderStatus.CANCELED,
}
ORDER_TYPES: Final[Mapping[str, OrderType]] = {"Limit": OrderType.LIMIT, "Market": OrderType.MARKET}
#: rejectReason (enum.mdx) of an order cancelled by its own rule because it could not fill
#: whole (a FOK): it expired rather than being cancelled.
NO_FULL_FILL_REJECT: Final = "EC_CancelForNoFullFill"
#: timeInForce; RPI is a post-only order.
TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "PostOnly": TimeInForce.POST_ONLY,
    "RPI": TimeInForce.POST_ONLY,
}

#: retCode -> the arbcore error (error.mdx: general, UTA and spot-trade tables). Errors come
#: with HTTP 200; unknown codes are plain ExchangeError.
ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = {
    10000: NetworkError,  # server timeout: outcome unknown
    10001: InvalidOrder,  # request parameter error
    10002: AuthenticationError,  # the request time exceeds the time window
    10003: AuthenticationError,  # API key is invalid
    10004: AuthenticationError,  # error sign
    10005: AuthenticationError,  # permission denied
    10006: RateLimitExceeded,  # too many visits (per-UID limit)
    10007: AuthenticationError,  # user authentication failed
    10008: AuthenticationError,  # common banned
    10009: AuthenticationError,  # IP has been banned
    10010: AuthenticationError,  # unmatched IP
    10014: InvalidOrder,  # invalid duplicate request
    10016: ExchangeNotAvailable,  # server error
    10018: RateLimitExceeded,  # exceeded the IP rate limit
    10024: AuthenticationError,  # compliance rules triggered
    10027: AuthenticationError,  # transactions are banned
    10028: AuthenticationError,  # unified account only
    10029: InvalidOrder,  # symbol not in the whitelist
    100028: AuthenticationError,  # not for unified accounts
    110001: OrderNotFound,  # order does not exist
    110004: InsufficientFunds,  # wallet balance is insufficient
    110007: InsufficientFunds,  # available balance is insufficient
    110008: OrderNotFound,  # the order has been completed or cancelled
    110010: OrderNotFound,  # the order has been cancelled
    110012: InsufficientFunds,
    110045: InsufficientFunds,
    110072: InvalidOrder,  # OrderLinkedID is duplicate
    170001: ExchangeNotAvailable,  # internal error
    170005: RateLimitExceeded,  # too many new orders
    170007: NetworkError,  # timeout waiting for the backend
    170032: ExchangeNotAvailable,  # network error, try again later
    170033: InsufficientFunds,  # margin: insufficient account balance
    170105: InvalidOrder,  # parameter was empty
    170115: InvalidOrder,  # invalid timeInForce
    170116: InvalidOrder,  # invalid orderType
    170117: InvalidOrder,  # invalid side
    170121: InvalidOrder,  # invalid symbol
    170124: InvalidOrder,  # order amount too large
    170130: InvalidOrder,  # data sent for a parameter is not valid
    170131: InsufficientFunds,  # balance insufficient
    170132: InvalidOrder,  # order price too high
    170133: InvalidOrder,  # order price lower than the minimum
    170134: InvalidOrder,  # order price decimal too long
    170135: InvalidOrder,  # order quantity too large
    170136: InvalidOrder,  # order quantity lower than the minimum
    170137: InvalidOrder,  # order volume decimal too long
    170139: OrderNotFound,  # order has been filled
    170140: InvalidOrder,  # transaction amount lower than the minimum
    170141: InvalidOrder,  # duplicate clientOrderId
    170142: OrderNotFound,  # order has been canceled
    170143: OrderNotFound,  # cannot be found on order book
    170146: NetworkError,  # order creation timeout
    170147: NetworkError,  # order cancellation timeout
    170148: InvalidOrder,  # market order amount decimal too long
    170151: InvalidOrder,  # the trading pair is not open yet
    170157: InvalidOrder,  # the trading pair is not available for api trading
    170159: InvalidOrder,  # no market orders in the first minutes of a new pair
    170190: OrderNotFound,  # cancel order has been finished
    170192: InvalidOrder,  # order price cannot be higher than %s
    170193: InvalidOrder,  # buy order price cannot be higher than %s
    170194: InvalidOrder,  # sell order price cannot be lower than %s
    170201: AuthenticationError,  # the account is restricted for trades
    170210: InvalidOrder,  # new order rejected
    170213: OrderNotFound,  # order does not exist
    170217: InvalidOrder,  # only LIMIT-MAKER orders on this pair
    170218: InvalidOrder,  # the LIMIT-MAKER order is rejected due to invalid price
    170222: RateLimitExceeded,  # too many requests in this time frame
    170234: ExchangeNotAvailable,  # system error
}
#: The timestamp code: the client resyncs its clock with TIME_PATH and resends once.
TIMESTAMP_ERROR_CODE: Final = 10002
#: The orderLinkId is in use: placement resolves it by looking the order up.
DUPLICATE_ORDER_CODES: Final = frozenset({170141, 110072})
