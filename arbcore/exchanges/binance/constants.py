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
