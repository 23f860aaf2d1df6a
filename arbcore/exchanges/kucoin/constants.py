"""KuCoin spot: endpoints and default fees. Data only."""

from typing import Final

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
