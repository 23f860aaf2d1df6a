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

import types

import attrs

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject, PyObject_GenericSetAttr
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE


cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags
    int T_OBJECT_EX
    int READONLY


cdef extern from "Python.h":
    ctypedef object (*allocfunc)(TypeSlots *, Py_ssize_t)  # a new reference, or NULL raising
    # the type object's fields read here (the struct is PyTypeObject)
    ctypedef struct TypeSlots "PyTypeObject":
        allocfunc tp_alloc
        void *tp_new
        unsigned long tp_flags
    unsigned long Py_TPFLAGS_IS_ABSTRACT


cdef extern from "descrobject.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member


cdef Py_ssize_t _slot_offset(type cls, str name) except -2:
    """Where ``cls`` instances hold field ``name``: the byte offset of the object slot that
    ``object.__setattr__`` writes through (the member descriptor found first along the MRO),
    or -1 when it is not a plain writable object slot."""
    cdef PyMemberDef *member
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is None:
            continue
        if type(descriptor) is not types.MemberDescriptorType:
            return -1
        member = (<PyMemberDescrObject*>descriptor).d_member
        if member.type != T_OBJECT_EX or member.flags & READONLY:
            return -1
        return member.offset
    return -1


cdef class Maker:
    """``Maker(cls)(*values)``: an instance of the frozen slotted attrs class ``cls`` with its
    fields set to ``values`` in field order (all of them, no defaults), as ``cls(...)`` makes it
    but with no Python call."""

    cdef readonly type cls
    cdef readonly tuple names
    cdef Py_ssize_t count
    # the fast path, when every field is a plain object slot and ``cls`` is made by
    # ``object.__new__``: the instance allocated as object.__new__ allocates it (zeroed, the
    # collector tracking it) and each value stored at its slot's offset, as the slot's
    # descriptor stores it (the new instance's slots are empty, so nothing is released)
    cdef Py_ssize_t *offsets
    cdef bint direct

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
        PyMem_Free(self.offsets)
        self.offsets = <Py_ssize_t*>PyMem_Malloc(max(self.count, 1) * sizeof(Py_ssize_t))
        if self.offsets == NULL:
            raise MemoryError()
        cdef TypeSlots *tp = <TypeSlots*>cls
        self.direct = (tp.tp_new == (<TypeSlots*>object).tp_new
                       and not tp.tp_flags & Py_TPFLAGS_IS_ABSTRACT)
        cdef Py_ssize_t i
        for i in range(self.count):
            self.offsets[i] = _slot_offset(cls, self.names[i])
            if self.offsets[i] < 0:
                self.direct = False

    def __dealloc__(self):
        PyMem_Free(self.offsets)

    def __call__(self, *values):
        cdef Py_ssize_t i
        cdef TypeSlots *tp
        cdef PyObject *value
        if PyTuple_GET_SIZE(values) != self.count:
            raise TypeError(f"Maker({self.cls.__name__}) takes {self.count} values "
                            f"{self.names}, got {PyTuple_GET_SIZE(values)}")
        if not self.direct:
            instance = self.cls.__new__(self.cls)
            for i in range(self.count):
                PyObject_GenericSetAttr(instance, self.names[i], values[i])
            return instance
        tp = <TypeSlots*>self.cls
        made = tp.tp_alloc(tp, 0)
        for i in range(self.count):
            value = PyTuple_GET_ITEM(values, i)
            Py_INCREF(<object>value)
            (<PyObject**>((<char*><PyObject*>made) + self.offsets[i]))[0] = value
        return made
