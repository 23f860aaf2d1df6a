"""Bybit v5: endpoints, channels, keepalive and limits, default fees. Data only.

Source: bybit-exchange/docs @ 072c197d (2026-07-24); protocols/exchanges-a.md section 3.
"""

from typing import Final

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
