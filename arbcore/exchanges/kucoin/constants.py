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
