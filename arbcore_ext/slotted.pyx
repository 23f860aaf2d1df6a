# Frozen slotted attrs classes built without their generated __init__.
#
# attrs' __init__ for a frozen, slotted class is Python: keyword arguments go through a dict,
# and each field is set through object.__setattr__ (a bound method call). A decision builds an
# Opportunity, its legs and a RiskDecision, and that alone cost about 30k instructions of the
# decision path. A Maker sets the same slots from positional values in C: the object is the one
# the class's own __init__ would make (same fields, same values, same eq, hash and repr), for
# classes whose fields have no validator, converter or on_setattr hook, which it checks once.
# ``trusted=True`` also takes fields with converters and an ``__attrs_post_init__`` check: the
# caller passes values already in the converters' form that pass the check (a reader's own
# int64 arrays for a BookEvent), which neither then changes.
# cython: language_level=3

import attrs

from cpython.object cimport PyObject_GenericSetAttr
from cpython.tuple cimport PyTuple_GET_SIZE


cdef class Maker:
    """``Maker(cls)(*values)``: an instance of the frozen slotted attrs class ``cls`` with its
    fields set to ``values`` in field order (all of them, no defaults), as ``cls(...)`` makes it
    but with no Python call."""

    cdef readonly type cls
    cdef readonly tuple names
    cdef Py_ssize_t count

    def __init__(self, type cls not None, *, bint trusted=False):
        if not attrs.has(cls) or "__slots__" not in cls.__dict__:
            raise TypeError(f"Maker: {cls.__name__} is not a slotted attrs class")
        fields = attrs.fields(cls)
        for field in fields:
            if (field.validator is not None or not field.init
                    or (field.converter is not None and not trusted)):
                raise TypeError(f"Maker: {cls.__name__}.{field.name} has a validator, converter "
                                f"or no __init__ argument; build it with {cls.__name__}(...)")
        if getattr(cls, "__attrs_post_init__", None) is not None and not trusted:
            raise TypeError(f"Maker: {cls.__name__} has __attrs_post_init__")
        self.cls = cls
        self.names = tuple(field.name for field in fields)
        self.count = len(self.names)

    def __call__(self, *values):
        cdef Py_ssize_t i
        if PyTuple_GET_SIZE(values) != self.count:
            raise TypeError(f"Maker({self.cls.__name__}) takes {self.count} values "
                            f"{self.names}, got {PyTuple_GET_SIZE(values)}")
        made = self.cls.__new__(self.cls)
        for i in range(self.count):
            PyObject_GenericSetAttr(made, self.names[i], values[i])
        return made
