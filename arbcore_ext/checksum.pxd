# C API of arbcore_ext.checksum: venue book checksums rendered and hashed without Python objects.
#
# A venue's checksum is a CRC32 over its own text form of the book's top levels. ChecksumForm
# (the C side of TextForm) says what that text looks like; render_book_c writes it chunk by chunk
# into an Out sink that either hashes (a small stack buffer, flushed into zlib's crc32) or keeps
# the whole text (for book_text and the tests).
from libc.stdint cimport int64_t, uint32_t, uint64_t

from arbcore_ext.book cimport L2Book, LevelBuffer, Side
from arbcore_ext.fixedpoint cimport FORMAT_BUFFER_SIZE

cdef enum NumberStyle:
    NUMBER_DIGITS = 0    # fixed places, '.' removed, leading zeros stripped (Kraken)
    NUMBER_TRIMMED = 1   # fixed places, trailing zeros and a bare '.' stripped (OKX, Bitfinex)

cdef struct ChecksumForm:
    Py_ssize_t depth        # levels per side
    bint interleave         # bid1 ask1 bid2 ask2 ... ; else every ask, then every bid
    char separator          # between numbers; 0 = none
    int number              # NumberStyle
    int price_places        # -1: the book's price decimals
    int size_places         # -1: the book's size decimals
    bint negate_ask_sizes   # '-' before every ask size (Bitfinex)

cdef struct Out:
    char* buf
    Py_ssize_t cap
    Py_ssize_t len
    unsigned long crc
    bint hashing            # flush into crc when the buffer nears full; else buf holds everything
    bint started            # a number has been written (the next one takes a separator)
    int64_t bad_raw         # the value that could not be rendered, when a status is returned
    int bad_decimals
    int bad_places

# Render (and hash, when out.hashing) the form's text of the book sides. Returns STATUS_OK or
# the format_decimal_c status of the first number that does not fit its places (out.bad_*).
cdef int render_book_c(const Side* sides, int price_decimals, int size_decimals,
                       const ChecksumForm* form, Out* out) noexcept nogil

cdef class TextForm:
    cdef ChecksumForm form
    cdef readonly object separator
    cdef readonly object number
    cdef readonly bint signed

# CRC32 of form's text of book (signed when form.signed) into crc: STATUS_OK, or the status of
# the first number that does not fit its places (out.bad_* say which).
cdef int book_crc32_c(L2Book book, TextForm form, int64_t* crc, Out* out) noexcept nogil


# One book's rendered levels, kept between checksums of that book: a level whose price and size
# did not change has the same text, so only the changed levels are rendered again (an update
# changes one or two of the 20-50 levels a checksum covers). Texts are pure functions of
# (price, size, form, book scales), so a reused text can never be stale.
cdef struct LevelText:
    int64_t key
    int64_t size
    Py_ssize_t len
    char text[2 * (FORMAT_BUFFER_SIZE + 2) + 2]   # price, separator, size (+ signs, slack)

# One level's text (price then size; the form's separator before it when ``lead``) into
# ``level``, key and size included: STATUS_OK or the status of the number that does not fit
# (out.bad_* say which).
cdef int level_text_c(const ChecksumForm* f, int side, int64_t key, int64_t size,
                      int price_decimals, int size_decimals, LevelText* level,
                      Out* out, bint lead) noexcept nogil

cdef class TextCache:
    cdef TextForm form            # the form of the cached texts (None: nothing cached)
    cdef int price_decimals
    cdef int size_decimals
    cdef Py_ssize_t depth
    cdef LevelText* slots         # [generation][side][depth]
    cdef int generation
    cdef Py_ssize_t counts[2]     # levels of each side in the current generation
    cdef int reset(self, L2Book book, TextForm form) noexcept

# book_crc32_c through ``cache`` (the same CRC and statuses; only unchanged levels are reused).
cdef int book_crc32_cached_c(L2Book book, TextForm form, TextCache cache, int64_t* crc,
                             Out* out) noexcept


# One book's top levels as of its last checksum, each with the raw CRC of its text, and the CRC
# register before each position of the form's text: a checksum updates a windowed side's kept
# top from the update's own levels and walks a flat one (skipping a side whose levels all lie
# below it; walking a windowed side only for levels that refill a full top, or afresh when that
# cannot be trusted), renders only
# the changed levels and re-chains from the first changed position by CRC-32's linearity (a
# shift table a level), for any form (interleaved or asks then bids, with or without a
# separator) of depth <= TOP_LEVELS.
cdef enum:
    TOP_LEVELS = 32                     # the most levels a side TopCache keeps

cdef struct TopSide:
    Py_ssize_t count                    # levels kept (the side's best, at most the form's depth)
    unsigned char order[TOP_LEVELS]     # the slot of each kept level, best first
    LevelText slots[2 * TOP_LEVELS]     # texts; a refresh writes new ones beside the old
    uint32_t raws[2 * TOP_LEVELS]       # each slot's text's raw CRC (from a zero register)

cdef class TopCache:
    cdef TextForm form                  # the form of the texts (None: nothing kept)
    cdef L2Book book                    # the book they are of
    cdef int price_decimals
    cdef int size_decimals
    cdef uint64_t snapshots             # the book's counters after the last checksum
    cdef uint64_t updates[2]
    cdef Py_ssize_t end                 # the text's positions (before[end]: its whole CRC)
    cdef uint32_t before[2 * TOP_LEVELS + 1]   # CRC register before each position of the text
    cdef TopSide sides[2]

# The CRC of form's text of book through cache (signed when form.signed) into crc: STATUS_OK,
# or -1 when a number does not render (the cache is dropped; book_crc32_c names the error).
# ``levels``: the levels applied to the book since the cache's last checksum (None: unknown).
cdef int top_crc32_c(TopCache cache, L2Book book, TextForm form, LevelBuffer levels,
                     int64_t* crc) noexcept

# top_crc32_c through the TopCache kept for ``key`` in ``tops`` (made on first use) equals
# ``expected``; False also when a number does not render (Python raises that error).
cdef bint top_checksum_matches(dict tops, object key, L2Book book, TextForm form,
                               int64_t expected, LevelBuffer levels) noexcept
