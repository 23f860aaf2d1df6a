"""HTX (Huobi) spot: endpoints, channels, keepalive and limits. Data only.

Source for every value: protocols/exchanges-b.md section 1 (HTX spot API docs, read via the
rosssaunders/coincise mirror and HTX support announcements).
"""

from typing import Final

from arbcore.model import OrderStatus
from arbcore.net.ratelimit import BudgetSpec

VENUE: Final = "htx"

REST_BASE_URL: Final = "https://api.huobi.pro"
#: Legacy symbol list (what the recording HUOBI.0 holds): data[] with base-currency,
#: quote-currency, price-precision, amount-precision, min-order-amt, min-order-value, state.
INSTRUMENTS_PATH: Final = "/v1/common/symbols"
#: Current symbol list with short keys (bc, qc, pp, ap, minoa, minov, state); same parser.
MARKET_SYMBOLS_PATH: Final = "/v1/settings/common/market-symbols"
#: ``status`` of a successful REST envelope; errors carry err-code / err-msg.
OK_STATUS: Final = "ok"
#: ``state`` of a symbol open for trading (others: offline, pre-online, suspend).
ONLINE_STATE: Final = "online"

#: Docs example of GET /v2/reference/transact-fee-rate: base tier 0.2 % maker / 0.2 % taker.
#: An account's own rates come from that endpoint (signed). Section 1.7.
DEFAULT_MAKER_FEE: Final = 0.002
DEFAULT_TAKER_FEE: Final = 0.002

#: HTX books carry sizes as IEEE doubles (``1.2846957872793565E7``, docs: 18-decimal sizes), so
#: book sizes are kept at this many decimals at least (like Binance's baseAssetPrecision) and
#: finer wire digits are rounded half-even from the decimal text (never through a float).
BOOK_SIZE_DECIMALS: Final = 8

#: Market data: every frame is GZIP-compressed JSON. ``/ws`` carries depth.step0, trades, bbo;
#: the mbp incremental channel and its ``req`` snapshot only exist on ``/feed``. Section 1.1.
WS_URL: Final = "wss://api.huobi.pro/ws"
WS_FEED_URL: Final = "wss://api.huobi.pro/feed"
WS_AWS_URL: Final = "wss://api-aws.huobi.pro/ws"
WS_AWS_FEED_URL: Final = "wss://api-aws.huobi.pro/feed"

#: Full 150-level image about once a second, ``tick.version`` (no seqNum): every message is a
#: snapshot. step1..step5 aggregate prices and are not used for books.
DEPTH_CHANNEL: Final = "market.{symbol}.depth.{step}"
DEPTH_STEP: Final = "step0"
#: Incremental book: ``tick.seqNum`` / ``tick.prevSeqNum``; 5 and 20 are tick by tick, 150 and
#: 400 diffs of two snapshots 100 ms apart (an empty diff is still sent). All pairs support 5.
MBP_CHANNEL: Final = "market.{symbol}.mbp.{levels}"
MBP_LEVELS: Final = (5, 20, 150, 400)
#: Levels a ``req`` snapshot supports (not 400); request the subscribed level count.
MBP_REQ_LEVELS: Final = (5, 20, 150)
MBP_DEFAULT_LEVELS: Final = 150
#: Full top-N image about every 100 ms with ``seqNum`` in the incremental channel's sequence.
MBP_REFRESH_CHANNEL: Final = "market.{symbol}.mbp.refresh.{levels}"
MBP_REFRESH_LEVELS: Final = (5, 10, 20)
TRADE_CHANNEL: Final = "market.{symbol}.trade.detail"

#: Control frames (JSON text, sent uncompressed): subscribe, unsubscribe, one-off request.
SUBSCRIBE_MESSAGE: Final = '{{"sub": "{channel}", "id": "{id}"}}'
UNSUBSCRIBE_MESSAGE: Final = '{{"unsub": "{channel}", "id": "{id}"}}'
REQUEST_MESSAGE: Final = '{{"req": "{channel}", "id": "{id}"}}'
#: At most one ``req`` per 100 ms per connection.
REQUEST_MIN_INTERVAL_S: Final = 0.1

#: Keepalive of the market WebSockets: the server sends ``{"ping": n}`` (gzip) about every 5 s;
#: the client answers ``{"pong": n}`` with the same n; two unanswered pings close the connection.
PING_KEY: Final = "ping"
PONG_MESSAGE: Final = '{{"pong":{ping}}}'
PING_INTERVAL_S: Final = 5.0
MAX_UNANSWERED_PINGS: Final = 2
#: /ws/v2 (account and orders, not compressed): action ping every 20 s, echo action pong.
V2_PING_ACTION: Final = "ping"
V2_PONG_MESSAGE: Final = '{{"action":"pong","data":{{"ts":{ts}}}}}'
V2_PING_INTERVAL_S: Final = 20.0

#: Limits (section 1.8): /ws/v2 50 valid requests/s per connection, 10 connections per API key,
#: 100 requests/s per IP; REST /market/depth 4000 per 5 min, /market/fullMbp 5 per s.
V2_MAX_REQUESTS_PER_S: Final = 50
V2_MAX_CONNECTIONS_PER_KEY: Final = 10
MAX_REQUESTS_PER_S_PER_IP: Final = 100
REST_DEPTH_LIMIT: Final = (4000, 300.0)
REST_FULL_MBP_PER_S: Final = 5

# --- Trading over REST (auth.py, execution.py). Sources: protocols/exchanges-b.md 1.5-1.8 and
# the HTX spot docs' endpoint pages (huobiapi.github.io/docs/spot/v1/en/ and
# htx.com/en-us/opend/newApiPages/).

#: Signature v2: the lower-case host is part of the signed text, so a client signs its own host.
REST_HOST: Final = "api.huobi.pro"
SIGNATURE_METHOD: Final = "HmacSHA256"
SIGNATURE_VERSION: Final = "2"
#: ``Timestamp``: UTC ``YYYY-MM-DDThh:mm:ss``, accepted within 5 minutes of the server's clock.
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
MAX_CLOCK_SKEW_S: Final = 300.0
#: ``{"status":"ok","data":1494900087029}``: server time in ms (public).
SERVER_TIME_PATH: Final = "/v1/common/timestamp"
ACCOUNTS_PATH: Final = "/v1/account/accounts"
BALANCE_PATH: Final = "/v1/account/accounts/{account_id}/balance"
#: JSON body; answers the new order id (a string). ``client-order-id`` is no longer checked for
#: uniqueness, so a placement is never blindly resent (rest.SignedRest.place).
PLACE_ORDER_PATH: Final = "/v1/order/orders/place"
#: Body ``{"client-order-id": ...}``; answers a cancellation code (CANCEL_NOT_FOUND_CODES).
CANCEL_BY_CLIENT_ID_PATH: Final = "/v1/order/orders/submitCancelClientOrder"
#: ``?clientOrderId=``; finished orders stay queryable by client id for 2 hours.
ORDER_BY_CLIENT_ID_PATH: Final = "/v1/order/orders/getClientOrder"
OPEN_ORDERS_PATH: Final = "/v1/order/openOrders"
OPEN_ORDERS_PAGE_SIZE: Final = 500
#: v2 envelope ``{"code": 200, "data": [...], "success": true}``; up to 10 symbols a call.
FEE_RATE_PATH: Final = "/v2/reference/transact-fee-rate"
V2_OK_CODE: Final = 200
SPOT_ACCOUNT_TYPE: Final = "spot"
ORDER_SOURCE: Final = "spot-api"
#: ``client-order-id``: at most 64 of letters, digits, ``_`` and ``-``.
CLIENT_ORDER_ID_PATTERN: Final = r"[A-Za-z0-9_-]{1,64}"

#: Per-UID, per-endpoint limits as printed: place, cancel, accounts and balance 100/2s;
#: getClientOrder, openOrders and transact-fee-rate 50/2s. One 100/2s weight budget in which the
#: 50/2s endpoints weigh 2 keeps each endpoint under its own limit; plus 100 requests/s per IP.
RATE_LIMITS: Final = (
    BudgetSpec("htx private weight", 100, 2.0, "weight"),
    BudgetSpec("htx requests per ip", MAX_REQUESTS_PER_S_PER_IP, 1.0, "request"),
)
WEIGHT_50_PER_2S: Final = 2.0

#: ``state`` -> OrderStatus; an open state with a fill is reported as partially filled.
ORDER_STATES: Final = {
    "created": OrderStatus.OPEN,
    "submitted": OrderStatus.OPEN,
    "partial-filled": OrderStatus.PARTIALLY_FILLED,
    "canceling": OrderStatus.OPEN,  # not final until the venue confirms
    "filled": OrderStatus.FILLED,
    "partial-canceled": OrderStatus.CANCELED,
    "canceled": OrderStatus.CANCELED,
}
#: ``canceled-source`` of a canceled order that the venue ended by its own rule.
CANCELED_SOURCES: Final = {
    "ioc": OrderStatus.EXPIRED,
    "fok": OrderStatus.EXPIRED,
    "market": OrderStatus.EXPIRED,
    "limit_maker": OrderStatus.REJECTED,  # a post-only order that would have taken
}
#: submitCancelClientOrder ``data``: 0 = client order id not found; -1 = closed long ago;
#: 5 partial-canceled, 6 filled, 7 canceled, 10 canceling.
CANCEL_NOT_FOUND_CODES: Final = (0, -1)

#: ``err-code`` (v1 envelope ``{"status":"error","err-code","err-msg"}``) -> ExchangeError subclass
#: name. Trading error table of the spot docs; ``510`` is "You request too often".
ERROR_CODES: Final = {
    "api-signature-not-valid": "AuthenticationError",
    "api-signature-check-failed": "AuthenticationError",
    "login-required": "AuthenticationError",
    "base-operation-forbidden": "AuthenticationError",
    "sub-user-auth-required": "AuthenticationError",
    "account-get-accounts-inexistent-error": "AuthenticationError",
    "account-account-id-inexistent": "AuthenticationError",
    "order-accountbalance-error": "InsufficientFunds",
    "account-frozen-balance-insufficient-error": "InsufficientFunds",
    "order-limitorder-amount-min-error": "InvalidOrder",
    "order-limitorder-amount-max-error": "InvalidOrder",
    "order-marketorder-amount-min-error": "InvalidOrder",
    "order-marketorder-amount-buy-max-error": "InvalidOrder",
    "order-marketorder-amount-sell-max-error": "InvalidOrder",
    "order-orderprice-precision-error": "InvalidOrder",
    "order-orderamount-precision-error": "InvalidOrder",
    "order-value-min-error": "InvalidOrder",
    "order-invalid-price": "InvalidOrder",
    "order-limitorder-price-min-error": "InvalidOrder",
    "order-limitorder-price-max-error": "InvalidOrder",
    "order-etp-nav-price-min-error": "InvalidOrder",
    "order-etp-nav-price-max-error": "InvalidOrder",
    "order-price-greater-than-limit": "InvalidOrder",
    "order-price-less-than-limit": "InvalidOrder",
    "order-amount-over-limit": "InvalidOrder",
    "order-holding-limit-failed": "InvalidOrder",
    "order-type-invalid": "InvalidOrder",
    "order-source-invalid": "InvalidOrder",
    "order-orderstate-error": "InvalidOrder",  # cancel of a finished order
    "order-user-cancel-forbidden": "InvalidOrder",
    "order-disabled": "InvalidOrder",
    "cancel-disabled": "InvalidOrder",
    "base-symbol-trade-disabled": "InvalidOrder",
    "base-argument-unsupported": "InvalidOrder",
    "validation-constraints-required": "InvalidOrder",
    "invalid-client-order-id": "InvalidOrder",
    "forbidden-trade-for-open-protect": "InvalidOrder",
    "market-orders-not-support-during-limit-price-trading": "InvalidOrder",
    "price-exceeds-the-protective-price-during-limit-price-trading": "InvalidOrder",
    "base-record-invalid": "OrderNotFound",  # getClientOrder with an unknown client order id
    "not-found": "OrderNotFound",
    "base-not-found": "OrderNotFound",
    "510": "RateLimitExceeded",
    "40403": "RateLimitExceeded",
    "base-system-error": "ExchangeNotAvailable",
}
#: v2 envelope ``code`` -> ExchangeError subclass name (status-code tables of the v2 endpoints).
V2_ERROR_CODES: Final = {
    500: "ExchangeNotAvailable",
    1002: "AuthenticationError",
    1003: "AuthenticationError",
    2002: "InvalidOrder",
}
#: The signature error's message when the Timestamp is off ("Signature not valid: Invalid
#: submission time or incorrect time format"): resync the clock and send once more. [3RD]
CLOCK_ERROR_TEXT: Final = "submission time"
