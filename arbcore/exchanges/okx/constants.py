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
