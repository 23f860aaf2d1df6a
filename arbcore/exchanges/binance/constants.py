"""Binance spot: endpoints and default fees. Data only."""

from typing import Final

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
