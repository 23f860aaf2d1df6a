"""Bitfinex v2: endpoints, channels, flags, keepalive and limits, default fees. Data only.

Source: docs.bitfinex.com (ws-general, ws-public-books, ws-websocket-checksum, rest-public-book);
protocols/exchanges-b.md section 4.
"""

from typing import Final

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

#: ``{"event":"conf","flags":SUM}`` before subscribing.
FLAG_SEQ_ALL: Final = 65536  # every message ends with a connection-wide sequence number
FLAG_OB_CHECKSUM: Final = 131072  # [chanId, "cs", checksum] after book changes
FLAG_TIMESTAMP: Final = 32768
FLAG_BULK_UPDATES: Final = 536870912
CONF_FLAGS: Final = FLAG_SEQ_ALL | FLAG_OB_CHECKSUM
#: Levels per side the checksum covers.
CHECKSUM_DEPTH: Final = 25

#: Info codes: 20051 server restart (reconnect), 20060 maintenance start (pause), 20061 end
#: (resubscribe everything).
INFO_RECONNECT: Final = 20051
INFO_MAINTENANCE_START: Final = 20060
INFO_MAINTENANCE_END: Final = 20061

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
