"""HTX (Huobi) spot: endpoints, channels, keepalive and limits. Data only.

Source for every value: protocols/exchanges-b.md section 1 (HTX spot API docs, read via the
rosssaunders/coincise mirror and HTX support announcements).
"""

from typing import Final

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
