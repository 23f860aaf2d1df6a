"""Gate.io spot (API v4): endpoints and default fees. Data only."""

from typing import Final

VENUE: Final = "gateio"

REST_BASE_URL: Final = "https://api.gateio.ws/api/v4"
#: A bare array of pairs: id, base, quote, precision / amount_precision (decimals, not steps),
#: min_base_amount, min_quote_amount (both optional), trade_status.
INSTRUMENTS_PATH: Final = "/spot/currency_pairs"
#: The only trade_status that allows both sides (others: buyable, sellable, untradable).
TRADABLE: Final = "tradable"

#: GET /api/v4/spot/fee docs example: 0.2 % maker / 0.2 % taker (the recorded pairs' deprecated
#: ``fee`` field says 0.2 too). protocols/exchanges-b.md section 2.6.
DEFAULT_MAKER_FEE: Final = 0.002
DEFAULT_TAKER_FEE: Final = 0.002
