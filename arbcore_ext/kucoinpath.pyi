"""KuCoin's ``trade.l2update`` deltas read in one pass over the frame."""

from collections.abc import Iterable
from typing import Any

from arbcore_ext.deltapath import DeltaPath, Route

class KucoinPath(DeltaPath):
    """A DeltaPath for KuCoin's l2updates with a one-pass ``read``: ``data``, ``subject``,
    ``topic`` and ``type`` once each, in ``data`` the keys KuCoin sends once each; anything
    else is declined (the generic reader's configuration, read as it reads it)."""

    def __init__(self, routes: Iterable[Route], **config: Any) -> None:
        """DeltaPath's keyword arguments, with KuCoin's l2update configuration only."""
