# cython: language_level=3
"""The X.691 unaligned PER (UPER) bit-level runtime. Hand-written.

The generated ``_codec.pyx`` cimports these inline primitives and strings them
together per type; nothing here knows about hanode's modules. Names follow
X.691: constrained whole numbers (11.5), length determinants (11.9),
known-multiplier character strings (30.5), octet-aligned-free UTF-8 (30.6) and
the complete encoding of a PDU (11.1). Errors carry ``where``, the dotted ASN.1
location of the field, as a C string constant: it costs nothing until an
error is raised.

The writer keeps the bits not yet forming an octet in a 64-bit accumulator
and starts in a buffer on the C stack, so a heartbeat is encoded without a
single allocation but the ``bytes`` it returns.
"""

from libc.stdint cimport uint64_t, int64_t
from libc.string cimport memcpy
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE

cdef extern from "Python.h":
    # Declared here (not cimported) so that a NULL return is ours to handle:
    # the error becomes an EncodeError/DecodeError naming the field.
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size)
    void PyErr_Clear()
    void* PyErr_Occurred()
    Py_ssize_t PyLong_AsSsize_t(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    Py_UCS4 PyUnicode_READ_CHAR(object s, Py_ssize_t i)
    int PyUnicode_KIND(object s)
    bint PyUnicode_IS_COMPACT_ASCII(object s)
    void* PyUnicode_DATA(object s)
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    object PyUnicode_DecodeASCII(const char* s, Py_ssize_t size, const char* errors)
    str PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)

cdef enum:
    WRITER_STACK = 128       # octets encoded before the writer goes to the heap
    FRAGMENT = 16384         # X.691 11.9.3.8: 16K octets a fragment unit
    NUMERIC_BATCH = 14       # NumericString characters per 56-bit accumulator batch


# -- errors (cold path) --------------------------------------------------------

cdef inline int raise_encode(const char* where, str problem) except -1:
    from hanode.errors import EncodeError
    raise EncodeError(f"{where.decode('ascii')}: {problem}")


cdef inline int raise_decode(const char* where, str problem) except -1:
    from hanode.errors import DecodeError
    raise DecodeError(f"{where.decode('ascii')}: {problem}")


cdef inline str describe(object value):
    """A short description of a wrong value for an error message."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}" if value is not None else "None"


# -- writer ----------------------------------------------------------------------

cdef struct Writer:
    unsigned char* buf
    Py_ssize_t cap          # octets available in buf
    Py_ssize_t size         # complete octets written
    uint64_t acc            # pending bits, right-aligned
    int nacc                # number of pending bits, 0..7 between calls
    unsigned char stack[WRITER_STACK]


cdef inline void writer_init(Writer* w) noexcept:
    w.buf = w.stack
    w.cap = WRITER_STACK
    w.size = 0
    w.acc = 0
    w.nacc = 0


cdef inline void writer_free(Writer* w) noexcept:
    if w.buf != w.stack:
        PyMem_Free(w.buf)
        w.buf = w.stack


cdef inline int writer_reserve(Writer* w, Py_ssize_t extra) except -1:
    """Make room for ``extra`` more octets."""
    cdef Py_ssize_t need = w.size + extra
    cdef Py_ssize_t cap
    cdef unsigned char* p
    if need <= w.cap:
        return 0
    cap = w.cap * 2
    if cap < need:
        cap = need
    if w.buf == w.stack:
        p = <unsigned char*>PyMem_Malloc(cap)
        if p != NULL:
            memcpy(p, w.stack, w.size)
    else:
        p = <unsigned char*>PyMem_Realloc(w.buf, cap)
    if p == NULL:
        raise MemoryError()
    w.buf = p
    w.cap = cap
    return 0


cdef inline int flush_octets(Writer* w) except -1:
    """Move the whole octets of the accumulator into the buffer."""
    if w.size + 8 > w.cap:
        writer_reserve(w, 8)
    while w.nacc >= 8:
        w.nacc -= 8
        w.buf[w.size] = <unsigned char>(w.acc >> w.nacc)
        w.size += 1
    w.acc &= ((<uint64_t>1) << w.nacc) - 1
    return 0


cdef inline int put_bits(Writer* w, uint64_t value, int nbits) except -1:
    """Append the ``nbits`` (0..56) low bits of ``value``, most significant first.
    Small on purpose, so that the C compiler inlines it; octets leave the
    accumulator in :func:`flush_octets`."""
    w.acc = (w.acc << nbits) | value
    w.nacc += nbits
    if w.nacc >= 8:
        return flush_octets(w)
    return 0


cdef inline int put_octets(Writer* w, const unsigned char* p, Py_ssize_t n) except -1:
    """Append ``n`` octets, not aligned (UPER aligns nothing)."""
    cdef Py_ssize_t i
    cdef int k = w.nacc
    cdef uint64_t acc = w.acc
    cdef unsigned char* out
    writer_reserve(w, n + 1)
    out = w.buf + w.size
    if k == 0:
        memcpy(out, p, n)
    else:
        for i in range(n):
            out[i] = <unsigned char>((acc << (8 - k)) | (p[i] >> k))
            acc = p[i] & ((1 << k) - 1)
        w.acc = acc
    w.size += n
    return 0


cdef inline object writer_finish(Writer* w):
    """The complete encoding (X.691 11.1): zero padding to an octet, and one
    zero octet for an empty encoding."""
    if w.nacc:
        put_bits(w, 0, 8 - w.nacc)
    if w.size == 0:
        return b"\x00"
    return PyBytes_FromStringAndSize(<char*>w.buf, w.size)


cdef inline int put_unconstrained_octets(Writer* w, const unsigned char* p, Py_ssize_t n) except -1:
    """Octets preceded by an unconstrained length determinant (X.691 11.9.3.6-8):
    one octet below 128, two below 16K, else fragments of 1 to 4 times 16K
    octets each, ended by a final determinant (0 if nothing is left)."""
    cdef Py_ssize_t m
    while n >= FRAGMENT:
        m = n // FRAGMENT
        if m > 4:
            m = 4
        put_bits(w, 0xC0 | m, 8)
        put_octets(w, p, m * FRAGMENT)
        p += m * FRAGMENT
        n -= m * FRAGMENT
    if n < 128:
        put_bits(w, n, 8)
    else:
        put_bits(w, 0x8000 | n, 16)
    put_octets(w, p, n)
    return 0


cdef inline int put_numeric_string(Writer* w, object s, Py_ssize_t lb, Py_ssize_t ub,
                                   int length_bits, const char* where) except -1:
    """NumericString (SIZE(lb..ub)), ub < 64K: a constrained length, then 4 bits
    a character, the index of the character in " 0123456789" (X.691 30.5.4:
    the alphabet's largest value does not fit 4 bits, so indices are sent)."""
    cdef Py_ssize_t n, i
    cdef uint64_t batch = 0
    cdef int count = 0
    cdef unsigned int digit
    cdef Py_UCS4 ch
    cdef const unsigned char* data
    if type(s) is not str:
        if s is None:
            return raise_encode(where, "missing (None); a NumericString is required")
        if not isinstance(s, str):
            return raise_encode(where, f"expected a NumericString (str of digits and spaces), got {describe(s)}")
    n = PyUnicode_GET_LENGTH(s)
    if n < lb or n > ub:
        return raise_encode(where, f"{n} characters, expected {lb} to {ub}")
    put_bits(w, n - lb, length_bits)
    if not PyUnicode_IS_COMPACT_ASCII(s):
        for i in range(n):  # some character is not ASCII, so not numeric: name it
            ch = PyUnicode_READ_CHAR(s, i)
            if ch > 127:
                return raise_encode(where, f"{s[i]!r} is not a NumericString character (digits and space only)")
    data = <const unsigned char*>PyUnicode_DATA(s)
    for i in range(n):
        # Index in " 0123456789": space 0, digits 1 to 10.
        digit = <unsigned int>data[i] - 48
        if digit <= 9:
            batch = (batch << 4) | (digit + 1)
        elif data[i] == 32:
            batch <<= 4
        else:
            return raise_encode(where, f"{s[i]!r} is not a NumericString character (digits and space only)")
        count += 1
        if count == NUMERIC_BATCH:
            put_bits(w, batch, 4 * NUMERIC_BATCH)
            batch = 0
            count = 0
    if count:
        put_bits(w, batch, 4 * count)
    return 0


cdef inline int put_utf8_string(Writer* w, object s, Py_ssize_t lb, Py_ssize_t ub,
                                const char* where) except -1:
    """UTF8String: its UTF-8 octets after an unconstrained length determinant.
    A SIZE constraint (``ub >= 0``) counts characters and is checked here,
    though PER does not make it visible (X.691 30.5)."""
    cdef Py_ssize_t n, chars
    cdef const char* p
    if type(s) is not str:
        if s is None:
            return raise_encode(where, "missing (None); a UTF8String is required")
        if not isinstance(s, str):
            return raise_encode(where, f"expected a UTF8String (str), got {describe(s)}")
    if ub >= 0:
        chars = PyUnicode_GET_LENGTH(s)
        if chars < lb or chars > ub:
            return raise_encode(where, f"{chars} characters, at most {ub} allowed" if chars > ub
                                else f"{chars} characters, at least {lb} required")
    p = PyUnicode_AsUTF8AndSize(s, &n)
    if p == NULL:
        PyErr_Clear()
        return raise_encode(where, "not encodable as UTF-8 (lone surrogate)")
    return put_unconstrained_octets(w, <const unsigned char*>p, n)


cdef inline int put_enumerated(Writer* w, object value, object enum_type, Py_ssize_t count, int nbits,
                               const char* where) except -1:
    """ENUMERATED without extension: the index as a constrained whole number.
    Accepts members of ``enum_type`` or plain ints, never another enum's
    members (mixing up Role and ReturnCode is a bug worth an error)."""
    cdef Py_ssize_t i
    if type(value) is not enum_type and type(value) is not int:
        return raise_encode(where, f"expected a {enum_type.__name__} member, got {describe(value)}")
    i = PyLong_AsSsize_t(value)
    if i == -1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        i = count  # too large for C: out of range below
    if i < 0 or i >= count:
        return raise_encode(where, f"{value!r} is not one of the {count} {enum_type.__name__} values (0 to {count - 1})")
    return put_bits(w, <uint64_t>i, nbits)


# -- reader ----------------------------------------------------------------------

cdef struct Reader:
    const unsigned char* buf
    Py_ssize_t size         # octets
    Py_ssize_t pos          # bits consumed


cdef inline void reader_init(Reader* r, bytes data) noexcept:
    r.buf = <const unsigned char*>PyBytes_AS_STRING(data)
    r.size = PyBytes_GET_SIZE(data)
    r.pos = 0


cdef inline int need_bits(Reader* r, Py_ssize_t nbits, const char* where) except -1:
    if r.pos + nbits > r.size * 8:
        return raise_decode(where, f"the data ends too soon: {nbits} more bits needed at bit {r.pos}, "
                                   f"but the encoding has {r.size * 8}")
    return 0


cdef inline uint64_t take_bits(Reader* r, int nbits) noexcept:
    """The next ``nbits`` (0..56) bits; the caller has checked they exist.
    Gathers the octets they span (at most 8), then shifts once."""
    cdef Py_ssize_t first, last, i
    cdef uint64_t v
    cdef int span
    if nbits == 0:
        return 0
    first = r.pos >> 3
    last = (r.pos + nbits - 1) >> 3
    v = r.buf[first]
    for i in range(first + 1, last + 1):
        v = (v << 8) | r.buf[i]
    span = <int>(last - first + 1) * 8
    v = (v >> (span - (r.pos & 7) - nbits)) & (((<uint64_t>1) << nbits) - 1)
    r.pos += nbits
    return v


cdef inline int64_t get_bits(Reader* r, int nbits, const char* where) except -1:
    need_bits(r, nbits, where)
    return <int64_t>take_bits(r, nbits)


cdef inline Py_ssize_t get_index(Reader* r, Py_ssize_t count, int nbits, const char* what,
                                 const char* where) except -1:
    """A CHOICE or ENUMERATED index: a constrained whole number below ``count``."""
    cdef int64_t i = get_bits(r, nbits, where)
    if i >= count:
        return raise_decode(where, f"{what.decode('ascii')} index {i} does not exist (there are {count})")
    return <Py_ssize_t>i


cdef inline void take_octets(Reader* r, unsigned char* out, Py_ssize_t n) noexcept:
    """Copy ``n`` octets starting at any bit; the caller has checked they exist."""
    cdef Py_ssize_t i, at = r.pos >> 3
    cdef int k = r.pos & 7
    if k == 0:
        memcpy(out, r.buf + at, n)
    else:
        for i in range(n):
            out[i] = <unsigned char>((r.buf[at + i] << k) | (r.buf[at + i + 1] >> (8 - k)))
    r.pos += 8 * n


cdef inline int take_numeric_chars(Reader* r, unsigned char* chars, Py_ssize_t n, const char* where) except -1:
    """``n`` NumericString characters, 4 bits each, read up to 14 at a time;
    the caller has checked they exist."""
    cdef Py_ssize_t i = 0, j, batch
    cdef uint64_t bits
    cdef int idx
    while i < n:
        batch = n - i if n - i < NUMERIC_BATCH else NUMERIC_BATCH
        bits = take_bits(r, <int>(4 * batch))
        for j in range(batch - 1, -1, -1):
            idx = bits & 15
            bits >>= 4
            if idx > 10:
                return raise_decode(where, f"character index {idx} is not in the NumericString alphabet (0 to 10)")
            chars[i + j] = b" 0123456789"[idx]
        i += batch
    return 0


cdef inline str get_numeric_string(Reader* r, Py_ssize_t lb, Py_ssize_t ub, int length_bits,
                                   const char* where):
    """The characters go straight into a new compact-ASCII ``str``: every one
    is checked against the alphabet here, so no second pass is needed."""
    cdef Py_ssize_t n = get_bits(r, length_bits, where) + lb
    cdef str s
    if n > ub:
        raise_decode(where, f"length {n} exceeds the maximum of {ub}")
    need_bits(r, 4 * n, where)
    if n == 0:
        return ""
    s = PyUnicode_New(n, 127)
    take_numeric_chars(r, <unsigned char*>PyUnicode_DATA(s), n, where)
    return s


cdef inline Py_ssize_t get_length(Reader* r, bint* fragment, const char* where) except -1:
    """An unconstrained length determinant (X.691 11.9.3.6-8), held to its
    canonical form: the shortest form, and fragments of 1 to 4 units."""
    cdef Py_ssize_t first = get_bits(r, 8, where)
    cdef Py_ssize_t n
    fragment[0] = False
    if first < 0x80:
        return first
    if first < 0xC0:
        n = ((first & 0x3F) << 8) | get_bits(r, 8, where)
        if n < 128:
            return raise_decode(where, f"length {n} is in the two-octet form; lengths below 128 take one octet")
        return n
    n = first & 0x3F
    if n < 1 or n > 4:
        return raise_decode(where, f"fragment of {n} x 16K octets; a fragment holds 1 to 4 units")
    fragment[0] = True
    return n * FRAGMENT


cdef inline str get_utf8_string(Reader* r, Py_ssize_t lb, Py_ssize_t ub, const char* where):
    """UTF8String after an unconstrained length; ``ub >= 0`` checks the
    character count of a PER-invisible SIZE constraint."""
    cdef bint fragment
    cdef Py_ssize_t n, total = 0, chars, unit
    cdef unsigned char local[256]
    cdef unsigned char* buf = local
    cdef unsigned char* grown
    cdef Py_ssize_t cap = 256
    cdef str s
    n = get_length(r, &fragment, where)
    if not fragment and (r.pos & 7) == 0:
        # Aligned and whole: decode straight from the input, no copy.
        need_bits(r, 8 * n, where)
        if ub >= 0 and n > 4 * ub:
            raise_decode(where, f"{n} octets cannot be at most {ub} characters")
        try:
            s = PyUnicode_DecodeUTF8(<const char*>(r.buf + (r.pos >> 3)), n, NULL)
        except UnicodeDecodeError as e:
            raise_decode(where, f"invalid UTF-8 ({e.reason} at octet {e.start})")
        r.pos += 8 * n
    else:
        try:
            while True:
                need_bits(r, 8 * n, where)
                if ub >= 0 and total + n > 4 * ub:
                    raise_decode(where, f"{total + n} octets cannot be at most {ub} characters")
                if total + n > cap:
                    cap = 2 * cap if 2 * cap >= total + n else total + n
                    if buf == local:
                        grown = <unsigned char*>PyMem_Malloc(cap)
                        if grown != NULL:
                            memcpy(grown, local, total)
                    else:
                        grown = <unsigned char*>PyMem_Realloc(buf, cap)
                    if grown == NULL:
                        raise MemoryError()
                    buf = grown
                take_octets(r, buf + total, n)
                total += n
                if not fragment:
                    break
                unit = n
                n = get_length(r, &fragment, where)
                if unit < 4 * FRAGMENT and fragment:
                    # An encoder sends a short fragment only as the last one.
                    raise_decode(where, "a fragment of fewer than 4 units is followed by another fragment")
            try:
                s = PyUnicode_DecodeUTF8(<const char*>buf, total, NULL)
            except UnicodeDecodeError as e:
                raise_decode(where, f"invalid UTF-8 ({e.reason} at octet {e.start})")
        finally:
            if buf != local:
                PyMem_Free(buf)
    if ub >= 0:
        chars = PyUnicode_GET_LENGTH(s)
        if chars > ub or chars < lb:
            raise_decode(where, f"{chars} characters, expected {lb} to {ub}")
    return s


cdef inline int reader_finish(Reader* r, const char* where) except -1:
    """The value must fill the data exactly: zero padding bits to the octet,
    no octet beyond it (an empty encoding being one zero octet)."""
    cdef Py_ssize_t used = (r.pos + 7) >> 3
    cdef int spare = <int>(used * 8 - r.pos)
    if used == 0:
        used = 1
        spare = 8
    if r.size != used:
        if r.size < used:
            return raise_decode(where, "the data ends too soon (an empty input is not a PDU)")
        return raise_decode(where, f"{r.size - used} octets of trailing data after the value, "
                                   f"which ends in octet {used}")
    if spare and (r.buf[used - 1] & ((1 << spare) - 1)):
        return raise_decode(where, "padding bits after the value are not zero")
    return 0
