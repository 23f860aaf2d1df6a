"""KuCoin spot: endpoints and default fees. Data only."""

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
from arbcore.model import OrderStatus
from arbcore.net.ratelimit import BudgetSpec

VENUE: Final = "kucoin"

REST_BASE_URL: Final = "https://api.kucoin.com"
#: data[] with symbol, baseCurrency/quoteCurrency, priceIncrement, baseIncrement, baseMinSize,
#: quoteMinSize, enableTrading (v2 adds minFunds). The v1 path answers in the same shape.
INSTRUMENTS_PATH: Final = "/api/v2/symbols"
#: ``code`` of a successful response envelope.
OK_CODE: Final = "200000"

#: GET /api/v1/base-fee docs example: 0.1 % maker / 0.1 % taker. protocols/exchanges-a.md 4.7.
DEFAULT_MAKER_FEE: Final = 0.001
DEFAULT_TAKER_FEE: Final = 0.001

#: Public WS token: POST this, connect to instanceServers[].endpoint?token=...&connectId=...
#: and wait for {"type":"welcome"}. protocols/exchanges-a.md 4.1.
BULLET_PUBLIC_PATH: Final = "/api/v1/bullet-public"
WS_URL: Final = "wss://ws-api-spot.kucoin.com/"
#: Increments for up to 100 comma-separated symbols per topic; no WS snapshot (REST gives it).
LEVEL2_TOPIC: Final = "/market/level2:{symbols}"
LEVEL2_SUBJECT: Final = "trade.l2update"
#: Best bid/ask with the book ``sequence`` they reflect (the BBO cross-check).
TICKER_TOPIC: Final = "/market/ticker:{symbols}"
TICKER_SUBJECT: Final = "trade.ticker"
MAX_SYMBOLS_PER_TOPIC: Final = 100
#: Full-depth snapshot (private, signed, weight 3) and the public 20/100-level ones (weight 2).
SNAPSHOT_PATH: Final = "/api/v3/market/orderbook/level2?symbol={symbol}"
SNAPSHOT_PATH_100: Final = "/api/v1/market/orderbook/level2_100?symbol={symbol}"
#: Client ping {"id":...,"type":"ping"} every pingInterval; no pong within pingTimeout = dead.
PING_INTERVAL_S: Final = 18.0
PING_TIMEOUT_S: Final = 10.0
#: WS limits: topics per subscribe message / per connection, connections per user.
MAX_TOPICS_PER_SUBSCRIBE: Final = 100
MAX_TOPICS_PER_CONNECTION: Final = 300
MAX_CONNECTIONS: Final = 50
#: REST resource pool per 30 s at VIP0 (Public pool; Spot pool is 4000).
PUBLIC_POOL_PER_30S: Final = 2000

#: Book sizes are finer than baseIncrement (the recording's BCHSV-USDT book holds 0.00019434546
#: at an 8-decimal lot; CAPP-BTC holds 2287.04744145 at a 0.01 lot) and KuCoin states no size
#: precision. Books therefore keep sizes at lot decimals + 3, and at least 8 decimals.
BOOK_SIZE_GUARD_DECIMALS: Final = 3
BOOK_SIZE_MIN_DECIMALS: Final = 8

# --- Trading over REST (execution.py, auth.py): the high-frequency ("HF") spot endpoints.
# protocols/exchanges-a.md 4.5-4.8 and the KuCoin docs pages named below. ---

#: POST places; ``{"code":"200000","data":{"orderId","clientOid"}}`` (docs-new add-order).
ORDER_PATH: Final = "/api/v1/hf/orders"
#: GET reads, DELETE cancels (asynchronously: read it back) an order by clientOid; ?symbol=.
CLIENT_ORDER_PATH: Final = "/api/v1/hf/orders/client-order/{client_oid}"
#: Active orders of one symbol (?symbol= is required) and the symbols that have any.
OPEN_ORDERS_PATH: Final = "/api/v1/hf/orders/active"
OPEN_ORDER_SYMBOLS_PATH: Final = "/api/v1/hf/orders/active/symbols"
#: Spot trading account balances (``type=trade``): available free, holds locked.
ACCOUNTS_PATH: Final = "/api/v1/accounts"
TRADE_ACCOUNT_TYPE: Final = "trade"
#: The account's actual fee rates per symbol (at most 10 per request); positive = paid.
TRADE_FEES_PATH: Final = "/api/v1/trade-fees"
#: ``{"code":"200000","msg":"success","data":1546837113087}``; public.
TIME_PATH: Final = "/api/v1/timestamp"
#: clientOid: letters, digits, ``_`` and ``-``, at most 40. Like OKX, KuCoin refuses a repeated
#: clientOid only while the first order is active, so placements are looked up before a resend.
MAX_CLIENT_ORDER_ID: Final = 40
#: KC-API-KEY-VERSION: V1 and V2 keys are refused by newer endpoints (400008); v2 and v3 sign the
#: passphrase the same way.
KEY_VERSION: Final = "3"
#: KC-API-TIMESTAMP further than this from server time is refused with 400002.
MAX_CLOCK_SKEW_S: Final = 5.0

#: Resource pools per 30 s at VIP0 (docs-new/rate-limit): Spot 4000, Management 2000, Public
#: 2000; each endpoint spends its weight. The limiter has no pool key, so one budget on the Spot
#: pool's scale holds all, Management and Public weights counted double (their pools are half):
#: no pool can be exceeded. Weights: place 1, cancel 1, order by clientOid 2, active orders 2,
#: active symbols 2, trade-fees 3 (Spot); accounts 5 (Management); timestamp 3, symbols 4 (Public).
RATE_LIMIT_WINDOW_S: Final = 30.0
RATE_LIMITS: Final = (
    BudgetSpec("kucoin REST, weights on the Spot pool scale (VIP0)", 4000, RATE_LIMIT_WINDOW_S,
               "weight"),
)  # fmt: skip
WEIGHT_PLACE: Final = 1.0
WEIGHT_CANCEL: Final = 1.0
WEIGHT_ORDER: Final = 2.0
WEIGHT_OPEN_ORDERS: Final = 2.0
WEIGHT_TRADE_FEES: Final = 3.0
WEIGHT_ACCOUNTS: Final = 2 * 5.0
WEIGHT_TIME: Final = 2 * 3.0
WEIGHT_SYMBOLS: Final = 2 * 4.0
#: A 429000 reply's wait: ``gw-ratelimit-reset`` (ms until the pool resets).
RATE_LIMIT_RESET_HEADER: Final = "gw-ratelimit-reset"

#: An HF order has no state field: ``active`` (on the book or being matched) and how much of
#: ``size`` is in ``dealSize`` ("none", "partial", "full") say where it is. A done order that did
#: not fill completely was canceled (by the user, as an IOC remainder, or a crossing post-only).
ORDER_STATES: Final[Mapping[tuple[bool, str], OrderStatus]] = {
    (True, "none"): OrderStatus.OPEN,
    (True, "partial"): OrderStatus.PARTIALLY_FILLED,
    (True, "full"): OrderStatus.FILLED,  # matched in full, the done flag not yet set
    (False, "none"): OrderStatus.CANCELED,
    (False, "partial"): OrderStatus.CANCELED,
    (False, "full"): OrderStatus.FILLED,
}

#: ``code`` -> error class: the spot error table (docs/basic-info/errors-code) and docs-new's
#: gateway codes. KuCoin answers with HTTP 200, 400 or 429; codes not listed fall back on it.
ERROR_CODES: Final[Mapping[str, type[ExchangeError]]] = {
    **dict.fromkeys(
        ("400001", "400002", "400003", "400004", "400005", "400006", "400007", "400008",
         "400009", "400010", "400700", "411100"),
        AuthenticationError,
    ),
    "200004": InsufficientFunds,
    **dict.fromkeys(
        ("400100", "200001", "200003", "200009", "400200", "400500", "400600", "415000",
         "600203"),
        InvalidOrder,
    ),
    **dict.fromkeys(("429000", "200002", "1015"), RateLimitExceeded),
    "500000": ExchangeNotAvailable,
}  # fmt: skip
#: 400100 ("Parameter Error") is also KuCoin's code for refusals with a meaning of their own,
#: told apart by the message: the docs' "account.available.amount" (insufficient balance), and
#: "order not exist" / "order_not_exist_or_not_allow_to_cancel" and
#: "validation.createOrder.clientOidDuplicated" as KuCoin sends them (seen by client libraries;
#: the docs name no code for them). Matched lowercased, ``_`` read as a space.
PARAMETER_ERROR_CODE: Final = "400100"
PARAMETER_ERROR_MEANINGS: Final[tuple[tuple[str, type[ExchangeError]], ...]] = (
    ("account.available.amount", InsufficientFunds),
    ("not exist", OrderNotFound),
    ("clientoidduplicated", InvalidOrder),
)
DUPLICATE_ORDER_MARKER: Final = "clientoidduplicated"
#: Waits KuCoin documents for its older limits (200002: 10 s per endpoint; 1015: Cloudflare 30 s).
RATE_LIMIT_WAITS_S: Final[Mapping[str, float]] = {"200002": 10.0, "1015": 30.0}
#: The timestamp was refused: resync the server clock and send again (nothing was done).
CLOCK_SKEW_CODES: Final = frozenset({"400002"})
