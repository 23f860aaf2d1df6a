"""Venue book checksums: the book's top levels rendered as the venue's text and CRC32'd, in C."""

from typing import Literal

from arbcore_ext.book import L2Book, LevelBuffer

class TextForm:
    """How one venue writes its book for the checksum; build once per venue (or pair), reuse.

    ``number``: ``"digits"`` renders at the places, removes the point and strips leading zeros
    (Kraken); ``"trimmed"`` renders at the places and strips trailing zeros and a bare point
    (OKX, Bitfinex). ``price_places``/``size_places`` are the wire's places, ``None`` for the
    book's decimals. ``signed`` gives the CRC as a signed 32-bit integer (OKX, Bitfinex).
    """

    def __init__(
        self,
        depth: int,
        *,
        interleave: bool,
        separator: str = "",
        number: Literal["digits", "trimmed"] = "trimmed",
        price_places: int | None = None,
        size_places: int | None = None,
        negate_ask_sizes: bool = False,
        signed: bool = False,
    ) -> None: ...
    @property
    def depth(self) -> int: ...
    @property
    def interleave(self) -> bool: ...
    @property
    def separator(self) -> str: ...
    @property
    def number(self) -> Literal["digits", "trimmed"]: ...
    @property
    def price_places(self) -> int | None: ...
    @property
    def size_places(self) -> int | None: ...
    @property
    def negate_ask_sizes(self) -> bool: ...
    @property
    def signed(self) -> bool: ...

def book_crc32(book: L2Book, form: TextForm) -> int:
    """CRC32 of ``form``'s text of ``book``: unsigned, or signed 32-bit when ``form.signed``.

    Raises DecimalFormatError when a number has non-zero digits beyond the form's places.
    """

def book_text(book: L2Book, form: TextForm) -> bytes:
    """The exact bytes :func:`book_crc32` hashes: for tests and for reading a mismatch."""

class TextCache:
    """One book's rendered levels between checksums: only changed levels are rendered again."""

    def __init__(self) -> None: ...
    def crc32(self, book: L2Book, form: TextForm) -> int:
        """:func:`book_crc32` of ``book`` through this cache (the same CRC or error)."""

class TopCache:
    """One book's top levels, each with its text's CRC, and the CRC before each position of the
    text: a checksum renders only the changed levels and re-chains from the first of them."""

    def __init__(self) -> None: ...
    def crc32(self, book: L2Book, form: TextForm, levels: LevelBuffer | None = None) -> int:
        """:func:`book_crc32` of ``book`` through this cache (the same CRC or error);
        ``levels``: the levels applied since its last checksum, None when not known."""

def crc32(data: bytes, crc: int = 0) -> int:
    """zlib.crc32 of ``data`` continuing from ``crc``, by the cache's own CRC (for the tests)."""

def crc32_append(data: bytes, crc: int = 0) -> int:
    """zlib.crc32 of ``data`` continuing from ``crc`` as the cache chains a level's text: the
    register shifted by the text's length, then its raw CRC (for the tests)."""

def crc32_unstep(crc: int, byte: int) -> int:
    """The register from which ``byte`` gives ``crc`` (zlib.crc32 of it continuing from the
    result is ``crc``; for the tests)."""
