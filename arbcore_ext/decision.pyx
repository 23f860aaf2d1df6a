# What the engine's compiled decisions share (crossdecide.CrossDecision, tridecide's
# TriangularDecision): the state they decide over, bound and checked once, the find counted as
# Engine._decide counts it, the balance refusal as Orchestrator.admit counts it, and the verdict
# (riskcore's first breach over the legs, or the Python reference's when risk is not on its
# compiled path) stamped and handed to ``on_decided``.
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
from libc.stdint cimport int64_t

from arbcore_ext.clocks cimport monotonic_ns
from arbcore_ext.crossbook cimport OPEN, Check
from arbcore_ext.ledger cimport Ledger
from arbcore_ext.riskcore cimport Exposure, Leg
from arbcore_ext.usdprices cimport UsdPrices


cdef class Decision:
    """A compiled decision's state: ``check``, the strategy's pre-check (the orchestrator's
    gate, with Counts for its counts); ``refused``: those refusal counts (the orchestrator's);
    ``ledger``: the venues' free balances and the orchestrator's reservations; ``risk``: the
    RiskEngine (its ``exposure`` is what the check reads); ``on_decided(decision)``: builds the
    objects and records of a decision taken here; ``usd``: the engine's USD prices."""

    def __init__(self, Check check, refused, Ledger ledger not None, risk not None,
                 on_decided not None, UsdPrices usd not None):
        if check is None:
            raise ValueError("the strategy is not attached to the orchestrator's Check")
        if check._found_c is None or check._detected_c is None or check._refused_c is None:
            raise ValueError("the Check's counts must be Counts (the engine's)")
        if refused is not check.refused:
            raise ValueError("refused must be the Check's refusal counts")
        self.check = check
        self.gate = check.gate
        self.ledger = ledger
        self.risk = risk
        self.exposure = risk.exposure
        self.on_decided = on_decided
        self.usd = usd
        self._balance_slot = check._refused_c.slot("balance_reserved")
        self.breach = None
        self.reserved_amounts = ()
        self.decided = 0

    cdef int _found(self, int detected_slot, int64_t arrived) except -1:
        """A find, stamped and counted as Engine._decide counts it (by kind, by kind and venue)."""
        self.found_ns = monotonic_ns() - arrived
        self.check._found_c.add(self.check._kind_slot)
        self.check._detected_c.add(detected_slot)
        return 0

    cdef int _refused_for_balance(self) except -1:
        """Orchestrator.admit's refusal of a leg that would spend more than is left."""
        self.check._refused_c.add(self._balance_slot)
        return 0

    cdef bint _gate_refuses(self, int key, const int* markets, int n, int64_t now) except -1:
        """Orchestrator.admit asking its gate again (a find ranked after another of the same
        update, which may have taken its markets): True, and the refusal counted as admit's
        own pre-check counts it (the offer, the reason), when it would refuse the key's
        opportunity on these market slots at ``now``."""
        cdef bint known = True
        cdef int reason = self.gate.reason(key, markets, n, &now, &known)
        if reason == OPEN:
            return False
        self.gate.offered += 1
        self.check._refused_c.add(self.check._reason_slot[reason])
        return True

    cdef int _verdict(self, const Leg* legs, int n, int64_t now, int64_t arrived) except -1:
        """RiskEngine.check_legs' breach of the admitted ``legs`` (the compiled check, or the
        Python reference's over :meth:`_leg_tuples` when risk is not ACTIVE or has
        correlations), the decision stamped, then :meth:`_stamped` and ``on_decided(self)``."""
        cdef int oldest
        cdef Exposure exposure = self.exposure
        if exposure.fast:
            self.breach = exposure.breach(legs, n, &oldest)
        else:
            self.breach = self.risk._first_breach(self._leg_tuples(legs, n))
        self.elapsed_ns = monotonic_ns() - arrived
        self.detected_at_ns = now
        self.decided += 1
        self._stamped()
        self.on_decided(self)
        return 0

    cdef int _stamped(self) except -1:
        """After the stamp: what the decision's Python objects need that C did not (e.g. its
        ``reserved_amounts``)."""
        return 0

    cdef tuple _leg_tuples(self, const Leg* legs, int n):
        """``legs`` as the LegTuples the Python reference reads (the decision's own names)."""
        raise NotImplementedError
