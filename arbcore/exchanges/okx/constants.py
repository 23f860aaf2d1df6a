"""OKX spot: endpoints and default fees. Data only."""

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

VENUE: Final = "okx"

REST_BASE_URL: Final = "https://www.okx.com"
#: data[] with instId, baseCcy/quoteCcy, tickSz, lotSz, minSz, state; no min-notional field.
INSTRUMENTS_PATH: Final = "/api/v5/public/instruments?instType=SPOT"
#: ``code`` of a successful response envelope.
OK_CODE: Final = "0"

#: Lv1 example of GET /api/v5/account/trade-fee: maker 0.08 %, taker 0.10 % (OKX reports them
#: negative, as commission paid). protocols/exchanges-a.md section 2.7.
DEFAULT_MAKER_FEE: Final = 0.0008
DEFAULT_TAKER_FEE: Final = 0.001

#: state of an instrument open for orders (others: suspend, preopen, test).
LIVE_STATE: Final = "live"
SPOT_INST_TYPE: Final = "SPOT"

#: Public WebSocket (books, bbo-tbt, tickers need no login). protocols notes 2.1.
WS_URL: Final = "wss://ws.okx.com:8443/ws/v5/public"
#: 400-level book: one ``action:"snapshot"`` push, then ``action:"update"`` every 100 ms.
BOOKS_CHANNEL: Final = "books"
#: Top-of-book pushes carrying ``seqId`` (the BBO cross-check): 1 level every 10 ms, 5 every 100 ms.
BBO_CHANNELS: Final = ("bbo-tbt", "books5")
#: ``prevSeqId`` of a snapshot push (it continues nothing).
SNAPSHOT_PREV_SEQ_ID: Final = -1

#: Legacy checksum: CRC32 (signed 32-bit) over the best 25 levels of each side, interleaved
#: ``bid:size:ask:size``. Fixed to 0 since 23 June 2026 (deprecated); 0 means "absent".
CHECKSUM_DEPTH: Final = 25

#: REST snapshot to align the ``books`` stream against (the documented replacement for the WS
#: snapshot; responses carry ``seqId`` since the 2026-08 docs). sz at most 400.
SNAPSHOT_PATH: Final = "/api/v5/market/books?instId={symbol}&sz={depth}"
SNAPSHOT_DEPTH: Final = 400

#: The server drops a connection after 30 s without a push: send the text ``ping`` after
#: N < 30 s of silence and expect the text ``pong``. protocols notes 2.8.
PING_INTERVAL_S: Final = 25.0
PING: Final = "ping"
PONG: Final = b"pong"
#: Recommended ceiling of depth channels per connection; 480 (un)subscribe ops per hour.
MAX_DEPTH_CHANNELS_PER_CONNECTION: Final = 30

# --- Trading over REST (execution.py, auth.py). protocols/exchanges-a.md 2.5-2.7 and the OKX v5
# docs sections named below (docs-v5/en/#...). ---

#: POST places (body), GET reads one order (?instId=&clOrdId=). #order-book-trading-trade-*.
ORDER_PATH: Final = "/api/v5/trade/order"
CANCEL_ORDER_PATH: Final = "/api/v5/trade/cancel-order"
#: live and partially_filled orders only, newest first, at most 100 per page (``after=ordId``).
OPEN_ORDERS_PATH: Final = "/api/v5/trade/orders-pending"
OPEN_ORDERS_PAGE: Final = 100
BALANCE_PATH: Final = "/api/v5/account/balance"
TRADE_FEE_PATH: Final = "/api/v5/account/trade-fee"
#: ``{"code":"0","data":[{"ts":"1597026383085"}]}``; public.
TIME_PATH: Final = "/api/v5/public/time"
#: Spot without margin: every order is ``tdMode:"cash"``.
CASH_MODE: Final = "cash"
#: Market orders carry ``tgtCcy:"base_ccy"`` (a market buy is counted in quote otherwise) and
#: ``banAmend:true`` (otherwise OKX silently shrinks a market order the balance cannot cover).
BASE_CCY: Final = "base_ccy"
QUOTE_CCY: Final = "quote_ccy"
#: clOrdId: 1-32 alphanumerics. Unique among *pending* orders only (#order-book-trading-trade-
#: post-place-order), so a blind resend of a filled IOC would trade twice: placements are looked
#: up by clOrdId before any resend.
MAX_CLIENT_ORDER_ID: Final = 32
#: OK-ACCESS-TIMESTAMP further than this from server time is refused with 50102.
MAX_CLOCK_SKEW_S: Final = 30.0
#: Demo trading: the same REST host plus this header (#overview-demo-trading-services).
DEMO_HEADER: Final = ("x-simulated-trading", "1")

#: Documented limits per 2 s, each endpoint's own (its "Rate Limit" and "Rate limit rule" lines):
#: place order, cancel order and order details 60 per User ID *and instrument* (a burst over two
#: instruments may send twice as many); pending orders 60, balance 10, trade-fee 5 per User ID;
#: instruments 20, public time 10 per IP; and a sub-account's new and amended orders 1000 in all
#: (counted here with its cancels, the safe side). The simulator enforces the same budgets.
RATE_LIMIT_WINDOW_S: Final = 2.0


def _endpoint(name: str, limit: int, endpoint: str, per: str = "") -> BudgetSpec:
    return BudgetSpec(name, limit, RATE_LIMIT_WINDOW_S, "request", per=per, endpoints=(endpoint,))


RATE_LIMITS: Final = (
    _endpoint("place order per instrument", 60, f"POST {ORDER_PATH}", "instrument"),
    _endpoint("cancel order per instrument", 60, f"POST {CANCEL_ORDER_PATH}", "instrument"),
    _endpoint("order details per instrument", 60, f"GET {ORDER_PATH}", "instrument"),
    _endpoint("pending orders", 60, f"GET {OPEN_ORDERS_PATH}"),
    _endpoint("balance", 10, f"GET {BALANCE_PATH}"),
    _endpoint("trade fee", 5, f"GET {TRADE_FEE_PATH}"),
    _endpoint("instruments", 20, f"GET {INSTRUMENTS_PATH}"),
    _endpoint("time", 10, f"GET {TIME_PATH}"),
    BudgetSpec("sub-account orders", 1000, RATE_LIMIT_WINDOW_S, "order"),
)

#: ``state`` of GET order details / orders-pending. OKX has no rejected or expired state: a
#: refused order is an sCode error and never becomes an order.
ORDER_STATES: Final[Mapping[str, OrderStatus]] = {
    "live": OrderStatus.OPEN,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "mmp_canceled": OrderStatus.CANCELED,
}
#: ``ordType`` <-> arbcore's type and time in force.
ORDER_TYPES: Final[Mapping[str, tuple[OrderType, TimeInForce]]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "post_only": (OrderType.LIMIT, TimeInForce.POST_ONLY),
    "fok": (OrderType.LIMIT, TimeInForce.FOK),
    "market": (OrderType.MARKET, TimeInForce.GTC),
}
#: ``cancelSource`` of a ``canceled`` order: "13" is "FOK order was canceled due to
#: incompletely filled" (order details, cancelSource): it expired by its type's rule.
FOK_CANCEL_SOURCE: Final = "13"

#: ``code`` (or a failed order's ``sCode``) -> error class (#error-code-rest-api). OKX answers
#: most of them with HTTP 200. Codes not listed fall back on the HTTP status.
ERROR_CODES: Final[Mapping[str, type[ExchangeError]]] = {
    # API class (HTTP 401/403): key, passphrase, signature, timestamp, IP, permissions
    **dict.fromkeys(
        ("50100", "50101", "50102", "50103", "50104", "50105", "50106", "50107", "50108",
         "50109", "50110", "50111", "50112", "50113", "50114", "50119", "50120", "50121",
         "50030", "50035"),
        AuthenticationError,
    ),
    # the account may not trade (blocked, frozen, restricted, risk control)
    **dict.fromkeys(
        ("50007", "50009", "50012", "50027", "50028", "50029", "51009", "51024"),
        AuthenticationError,
    ),
    **dict.fromkeys(("51008", "51127", "51131"), InsufficientFunds),
    **dict.fromkeys(
        ("50000", "50002", "50006", "50014", "50015", "50016", "50024", "50025", "50122",
         "51000", "51001", "51005", "51006", "51010", "51016", "51020", "51021", "51025",
         "51087", "51102", "51120", "51121", "51122", "51137", "51138", "51150", "51155",
         "51201", "51202", "51203", "51204", "50071"),
        InvalidOrder,
    ),
    **dict.fromkeys(("51603", "51400", "51401", "51402", "51405", "51503", "51063"),
                    OrderNotFound),
    **dict.fromkeys(("50011", "50013", "50040", "50061", "51113"), RateLimitExceeded),
    # "does not mean that the request was successful or failed, please check the result"
    **dict.fromkeys(("50004", "51054", "51149"), NetworkError),
    **dict.fromkeys(("50001", "50005", "50026", "50046", "51412"), ExchangeNotAvailable),
}  # fmt: skip
#: The timestamp was refused: resync the server clock and send again (nothing was done).
CLOCK_SKEW_CODES: Final = frozenset({"50102", "50112"})
#: "Client order ID already exists": an earlier attempt of this very placement got through.
DUPLICATE_ORDER_CODES: Final = frozenset({"51016", "50071"})
