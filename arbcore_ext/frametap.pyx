"""A live client's frame handler in C: from a WebSocket frame to the book callback.

:class:`~arbcore.marketdata.client.BookClient` handles a frame in Python: the recorder, the
readiness check, the venue's compiled :class:`~arbcore_ext.deltapath.DeltaPath`, what its status
means, the book's quote check and the owner's book callback. Its own Python is about an eighth
of a frame's cost, and nearly every frame takes the same way through it: no recorder, the
connection ready, the path applied the delta to a kept book. :class:`FrameTap` takes that way in
C, so no Python frame runs between the frame and the book callback (the engine's compiled
``BookTap.on_book``).

Everything else is the client's Python, exactly as before: every frame while the tap is unbound
(the client's whole handler: recorder, not ready), and every other status the path returns
(declined, skipped, deferred for the BookSync, verify, crossed, unrouted) to the client's status
handler, with the frame already read (a path is never run twice on one frame).

The contract is explicit: the client calls :meth:`FrameTap.bind` when the common way becomes
possible (no recorder and the connection ready) and :meth:`FrameTap.unbind` when it stops being
so; the tap caches nothing else. The venue's path is called through the interface every path
shares (``read`` then ``apply_read``, what ``DeltaPath.apply`` does), so nothing here depends on
the venue.
"""

from libc.stdint cimport int64_t

from arbcore_ext.deltapath cimport ST_APPLIED, ST_DECLINED, ST_SCANNED, DeltaPath, Route

from arbcore_ext.framepath import QUOTED


cdef class FrameTap:
    """The handler of one client's frames: ``tap.on_frame(frame, ts_ns)``.

    ``path``: the venue's compiled delta path (its routes attached to the client's books);
    ``handle(frame, ts_ns)``: the client's whole Python handler, for every frame while unbound;
    ``after_path(frame, ts_ns, status)``: the client's handling of any status but an applied
    delta to a book with an owner.
    """

    cdef DeltaPath path
    cdef object handle
    cdef object after_path
    cdef object on_book     # (symbol, book) after an applied delta; None: no one listens
    cdef dict checks        # symbol -> the book's BboCheck, looked up per update; None: no quotes
    cdef object quotes      # the client's QuotePath for a declined frame (None: not read here)
    cdef object unquoted    # the client's handling of a declined frame that is not a quote
    cdef readonly bint bound

    def __init__(self, DeltaPath path not None, handle not None, after_path not None):
        self.path = path
        self.handle = handle
        self.after_path = after_path
        self.bound = False

    def bind(self, on_book=None, dict checks=None, quotes=None, unquoted=None):
        """Handle the common case here from the next frame on: an applied delta goes to the
        book's quote check (``checks[symbol].after_update()``, when ``checks`` names one) and
        then to ``on_book(symbol, book)``. ``checks`` is read at each update, not copied, so
        books added or removed there need no new bind. With ``quotes`` (the client's
        ``QuotePath``) a frame the delta path declines is offered to it (a venue's quote
        stream: Binance's bookTickers), and one it does not take goes to ``unquoted(frame,
        ts_ns)``, the client's handling past its own quote read."""
        if (quotes is None) != (unquoted is None):
            raise ValueError("quotes and unquoted come together")
        self.on_book = on_book
        self.checks = checks
        self.quotes = quotes
        self.unquoted = unquoted
        self.bound = True

    def unbind(self):
        """Every frame to the client's Python handler from the next frame on."""
        self.bound = False
        self.on_book = self.checks = self.quotes = self.unquoted = None

    def on_frame(self, bytes frame not None, int64_t ts_ns):
        """One frame, as the client's handler would take it."""
        cdef DeltaPath path = self.path
        cdef Route route
        cdef int status
        if not self.bound:
            self.handle(frame, ts_ns)
            return
        path.connection = 0
        status = path.read(frame, ts_ns)
        if status == ST_SCANNED:
            status = path.apply_read()
            if status == ST_APPLIED:
                route = path.route
                if route.owner is not None:
                    self.updated(route)
                    return
        elif status == ST_DECLINED and self.quotes is not None:
            if self.quotes.read(frame) != QUOTED:
                self.unquoted(frame, ts_ns)
            return
        self.after_path(frame, ts_ns, status)

    cdef int updated(self, Route route) except -1:
        """The client's update callback for the route's book (its symbol and book are the
        owner's: the client attaches each BookSync's own core)."""
        cdef object check
        if self.checks is not None:
            check = self.checks.get(route.symbol)
            if check is not None:
                check.after_update()
        if self.on_book is not None:
            self.on_book(route.symbol, route.core.book)
        return 0
