"""OKX spot: endpoints and default fees. Data only."""

from typing import Final

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
