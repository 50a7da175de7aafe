"""Emit the Cython codec (``_codec.pyx``), its declarations (``_codec.pxd``)
and its typing stub (``_codec.pyi``) from the model.

Each PDU gets one encoder and one decoder with every nested type written out
inline, so that a field's dotted location (``HealthMonitorMessage.message.
heartBeat.billOfHealth.status``) is a C string constant, free until an error
is raised, and the hot path makes no call it does not need. The bit-level
work is done by the hand-written runtime in ``_uper.pxd``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import (
    ChoiceType,
    EnumType,
    Field,
    Model,
    NumericStringType,
    SequenceType,
    Type,
    UTF8StringType,
    snake_case,
)

FREELIST = 32  # instances kept for reuse per class: decoding allocates no fresh memory in steady state


def banner(model: Model, comment: str) -> str:
    sources = ", ".join(model.files)
    return (
        f"{comment} Generated from {sources} by `python -m hanode.codegen`. Do not edit:\n"
        f"{comment} change the .asn files or the generator, then regenerate.\n"
    )


def python_type(typ: Type) -> str:
    """The Python type of a field, for the stub and the docs."""
    if isinstance(typ, (NumericStringType, UTF8StringType)):
        return "str"
    if isinstance(typ, (EnumType, SequenceType)):
        return typ.name
    return " | ".join(leaf.name for _, leaf in typ.leaves())


def asn1_type(typ: Type) -> str:
    """The ASN.1 notation of a field's type, for docstrings."""
    if isinstance(typ, NumericStringType):
        return f"NumericString (SIZE({typ.lb}..{typ.ub}))"
    if isinstance(typ, UTF8StringType):
        return "UTF8String" if typ.ub is None else f"UTF8String (SIZE({typ.lb}..{typ.ub}))"
    if isinstance(typ, (EnumType, SequenceType)):
        return typ.name
    return typ.name or "CHOICE { " + ", ".join(f"{a.name} {asn1_type(a.type)}" for a in typ.alternatives) + " }"


INTERN_LIMIT = 64  # values of a SEQUENCE of enums small enough to pre-build them all


def internable(typ: SequenceType) -> bool:
    """A SEQUENCE with only ENUMERATED fields (or none) has few values, all
    immutable: the decoder returns pre-built instances instead of allocating."""
    count = 1
    for f in typ.fields:
        if not isinstance(f.type, EnumType):
            return False
        count *= len(f.type.items)
    return count <= INTERN_LIMIT


def function_name(pdu: SequenceType) -> str:
    return snake_case(pdu.name)


def _choice_alternatives_text(typ: ChoiceType) -> str:
    names = [leaf.name for _, leaf in typ.leaves()]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass
class _Body:
    """Lines of one generated function, with its C variables hoisted to the top
    (Cython does not allow ``cdef`` inside blocks)."""

    decls: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    counter: int = 0

    def var(self, ctype: str, prefix: str = "v") -> str:
        self.counter += 1
        name = f"{prefix}{self.counter}"
        self.decls[name] = ctype
        return name

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def render(self, header: str, footer: list[str]) -> list[str]:
        out = [header]
        out += [f"    cdef {ctype} {name}" for name, ctype in self.decls.items()]
        out += self.lines + footer
        return out


def _where(path: list[str]) -> str:
    return 'b"' + ".".join(path) + '"'


def _encode_value(body: _Body, typ: Type, expr: str, path: list[str], indent: int) -> None:
    """Lines that encode ``expr`` (a C expression of the field's Python value)."""
    where = _where(path)
    if isinstance(typ, NumericStringType):
        body.add(indent, f"put_numeric_string(w, {expr}, {typ.lb}, {typ.ub}, {typ.length_bits}, {where})")
    elif isinstance(typ, UTF8StringType):
        lb = typ.lb if typ.lb is not None else 0
        ub = typ.ub if typ.ub is not None else -1
        body.add(indent, f"put_utf8_string(w, {expr}, {lb}, {ub}, {where})")
    elif isinstance(typ, EnumType):
        body.add(indent, f"put_enumerated(w, {expr}, {typ.name}, {len(typ.items)}, {typ.index_bits}, {where})")
    elif isinstance(typ, SequenceType):
        var = body.var(typ.name)
        body.add(indent, f"{var} = {expr}")
        body.add(indent, f"if {var} is None:")
        body.add(indent + 1, f'raise_encode({where}, "missing (None); a {typ.name} is required")')
        _encode_fields(body, typ, var, path, indent)
    else:
        _encode_choice(body, typ, expr, path, indent)


def _encode_fields(body: _Body, typ: SequenceType, var: str, path: list[str], indent: int) -> None:
    # A SEQUENCE without OPTIONAL, DEFAULT or extension has no preamble (X.691 19):
    # its encoding is its components' encodings, in order.
    for f in typ.fields:
        _encode_value(body, f.type, f"{var}.{f.attr}", [*path, f.name], indent)


def _encode_choice(body: _Body, typ: ChoiceType, expr: str, path: list[str], indent: int) -> None:
    value = body.var("object", "c")
    kind = body.var("type", "t")
    body.add(indent, f"{value} = {expr}")
    body.add(indent, f"{kind} = type({value})")
    keyword = "if"
    for alt_path, leaf in typ.leaves():
        body.add(indent, f"{keyword} {kind} is {leaf.name}:")
        keyword = "elif"
        # X.691 23: the index of each CHOICE on the way, as a constrained whole
        # number; consecutive indices of nested CHOICEs go out as one write.
        choice: ChoiceType = typ
        bits = nbits = 0
        for index, alt in alt_path:
            bits, nbits = (bits << choice.index_bits) | index, nbits + choice.index_bits
            if isinstance(alt.type, ChoiceType):
                choice = alt.type
        if nbits:
            body.add(indent + 1, f"put_bits(w, {bits}, {nbits})")
        leaf_path = [*path, *(alt.name for _, alt in alt_path)]
        if leaf.fields:
            var = body.var(leaf.name)
            body.add(indent + 1, f"{var} = <{leaf.name}>{value}")
            _encode_fields(body, leaf, var, leaf_path, indent + 1)
        elif not nbits:
            body.add(indent + 1, "pass")
    body.add(indent, "else:")
    body.add(
        indent + 1,
        f'raise_encode({_where(path)}, f"expected {_choice_alternatives_text(typ)}, got {{describe({value})}}")',
    )


def _decode_value(body: _Body, typ: Type, path: list[str], indent: int) -> str:
    """Lines that decode a value; returns the C expression holding it."""
    where = _where(path)
    if isinstance(typ, NumericStringType):
        return f"get_numeric_string(r, {typ.lb}, {typ.ub}, {typ.length_bits}, {where})"
    if isinstance(typ, UTF8StringType):
        lb = typ.lb if typ.lb is not None else 0
        ub = typ.ub if typ.ub is not None else -1
        return f"get_utf8_string(r, {lb}, {ub}, {where})"
    if isinstance(typ, EnumType):
        return (
            f"_{typ.name}_members[get_index(r, {len(typ.items)}, {typ.index_bits}, "
            f'b"ENUMERATED", {where})]'
        )
    if isinstance(typ, SequenceType):
        return _decode_sequence(body, typ, path, indent)
    result = body.var("object", "c")
    _decode_choice(body, typ, result, path, indent)
    return result


def _decode_sequence(body: _Body, typ: SequenceType, path: list[str], indent: int) -> str:
    if internable(typ):
        if not typ.fields:
            return f"<{typ.name}>_{typ.name}_interned[0]"
        index = body.var("Py_ssize_t", "k")
        for n, f in enumerate(typ.fields):
            e = f.type
            read = f'get_index(r, {len(e.items)}, {e.index_bits}, b"ENUMERATED", {_where([*path, f.name])})'
            body.add(indent, f"{index} = {read}" if n == 0 else f"{index} = {index} * {len(e.items)} + {read}")
        return f"<{typ.name}>_{typ.name}_interned[{index}]"
    var = body.var(typ.name)
    body.add(indent, f"{var} = {typ.name}.__new__({typ.name})")
    for f in typ.fields:
        expr = _decode_value(body, f.type, [*path, f.name], indent)
        body.add(indent, f"{var}.{f.attr} = {expr}")
    return var


def _decode_choice(body: _Body, typ: ChoiceType, result: str, path: list[str], indent: int) -> None:
    index = body.var("Py_ssize_t", "i")
    body.add(indent, f'{index} = get_index(r, {len(typ.alternatives)}, {typ.index_bits}, b"CHOICE", {_where(path)})')
    for i, alt in enumerate(typ.alternatives):
        body.add(indent, f"{'if' if i == 0 else 'elif'} {index} == {i}:" if len(typ.alternatives) > 1 else "if True:")
        if isinstance(alt.type, ChoiceType):
            _decode_choice(body, alt.type, result, [*path, alt.name], indent + 1)
        else:
            assert isinstance(alt.type, SequenceType)
            expr = _decode_sequence(body, alt.type, [*path, alt.name], indent + 1)
            body.add(indent + 1, f"{result} = {expr}")


# -- the three files ------------------------------------------------------------


def emit_pxd(model: Model) -> str:
    out = [banner(model, "#").rstrip("\n"), "# cython: language_level=3", ""]
    for cls in model.classes:
        out.append(f"cdef class {cls.name}:")
        if not cls.fields:
            out.append("    pass")
        for f in cls.fields:
            ctype = _attr_ctype(f.type)
            out.append(f"    cdef readonly {ctype} {f.attr}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _attr_ctype(typ: Type) -> str:
    if isinstance(typ, (NumericStringType, UTF8StringType)):
        return "str"
    if isinstance(typ, SequenceType):
        return typ.name
    return "object"  # enums (IntEnum members) and CHOICE values


def _class_doc(cls: SequenceType, model: Model) -> list[str]:
    role = ", a PDU" if cls in model.pdus else ""
    lines = [f'    """ASN.1 ``{cls.name}`` ({cls.module}){role}.', ""]
    if cls.fields:
        lines.append("    SEQUENCE {")
        for f in cls.fields:
            lines.append(f"        {f.name} {asn1_type(f.type)}  -> ``{f.attr}``: {python_type(f.type)}")
        lines.append("    }")
    else:
        lines.append("    SEQUENCE { } (no fields)")
    lines.append('    """')
    return lines


def _emit_class(cls: SequenceType, model: Model) -> list[str]:
    attrs = [f.attr for f in cls.fields]
    out = ["@cython.final", f"@cython.freelist({FREELIST})", f"cdef class {cls.name}:"]
    out += _class_doc(cls, model)
    out.append(f'    __asn1_module__ = "{cls.module}"')
    out.append(f'    __asn1_name__ = "{cls.name}"')
    pairs = "".join(f'("{f.name}", "{f.attr}"), ' for f in cls.fields)
    out.append(f"    __asn1_fields__ = ({pairs})")
    out.append(f"    __match_args__ = ({''.join(repr(a) + ', ' for a in attrs)})")
    out.append("")
    out.append(f"    def __init__(self{''.join(', ' + a for a in attrs)}):")
    out += [f"        self.{a} = {a}" for a in attrs] or ["        pass"]
    out.append("")
    out.append("    def __repr__(self):")
    fields_repr = ", ".join(f"{a}={{self.{a}!r}}" for a in attrs)
    out.append(f'        return f"{cls.name}({fields_repr})"')
    out.append("")
    out.append("    def __eq__(self, other):")
    if attrs:
        out.append(f"        cdef {cls.name} o")
    out.append(f"        if type(other) is not {cls.name}:")
    out.append("            return NotImplemented")
    if attrs:
        out.append("        o = other")
        out.append("        return " + " and ".join(f"self.{a} == o.{a}" for a in attrs))
    else:
        out.append("        return True")
    out.append("")
    out.append("    def __hash__(self):")
    out.append(f"        return hash(({cls.name}{''.join(', self.' + a for a in attrs)}))")
    out.append("")
    out.append("    def __reduce__(self):")
    out.append(f"        return ({cls.name}, ({''.join('self.' + a + ', ' for a in attrs)}))")
    return out


def emit_pyx(model: Model) -> str:
    out = [banner(model, "#").rstrip("\n")]
    out.append(
        "# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True"
    )
    out.append('"""hanode\'s UPER codec, generated from its ASN.1 interfaces.')
    out.append("")
    out.append("Import it through :mod:`hanode.codec`. Message classes are immutable; a")
    out.append("CHOICE field holds the instance of its chosen alternative (nested CHOICEs")
    out.append("flattened). ``encode_<pdu>(msg)`` and ``decode_<pdu>(data)`` are the direct")
    out.append("fast paths; ``encode``/``decode`` dispatch on the class.")
    out.append('"""')
    out.append("")
    out.append("cimport cython")
    out.append("from hanode._uper cimport *")
    out.append("")
    out.append("import enum")
    out.append("import itertools")
    out.append("")
    out.append("from hanode.errors import DecodeError, EncodeError")
    out.append("")
    for e in model.enums:
        out.append("")
        out.append(f"class {e.name}(enum.IntEnum):")
        out.append(f'    """ASN.1 ``{e.name} ::= ENUMERATED {{{", ".join(e.items)}}}`` ({e.module})."""')
        out.append("")
        for i, item in enumerate(e.items):
            out.append(f"    {item} = {i}")
        out.append("")
        out.append(f"cdef tuple _{e.name}_members = tuple({e.name})")
        out.append("")
    for cls in model.classes:
        out.append("")
        out += _emit_class(cls, model)
        out.append("")
    interned = [c for c in model.classes if internable(c)]
    if interned:
        out.append("")
        out.append("# Immutable values with few possible contents are decoded to shared instances.")
        for cls in interned:
            if cls.fields:
                enums = ", ".join(f.type.name for f in cls.fields)
                out.append(f"cdef tuple _{cls.name}_interned = tuple({cls.name}(*v) for v in itertools.product({enums}))")
            else:
                out.append(f"cdef tuple _{cls.name}_interned = ({cls.name}(),)")
        out.append("")
    for pdu in model.pdus:
        name = function_name(pdu)
        out.append("")
        body = _Body()
        body.add(1, f"v0 = msg")
        _encode_fields(body, pdu, "v0", [pdu.name], 1)
        body.decls["v0"] = pdu.name
        out += body.render(f"cdef int _encode_{pdu.name}(Writer* w, object msg) except -1:", ["    return 0"])
        out.append("")
        out.append("")
        body = _Body()
        result = _decode_sequence(body, pdu, [pdu.name], 1)
        out += body.render(f"cdef {pdu.name} _decode_{pdu.name}(Reader* r):", [f"    return {result}"])
        out.append("")
        out.append("")
        out.append(f"def encode_{name}(msg):")
        out.append(f'    """The UPER encoding of a :class:`{pdu.name}`; raises EncodeError naming the bad field."""')
        out.append("    cdef Writer w")
        out.append(f"    if type(msg) is not {pdu.name}:")
        out.append(f'        raise_encode(b"{pdu.name}", f"expected a {pdu.name}, got {{describe(msg)}}")')
        out.append("    writer_init(&w)")
        out.append("    try:")
        out.append(f"        _encode_{pdu.name}(&w, msg)")
        out.append("        return writer_finish(&w)")
        out.append("    finally:")
        out.append("        writer_free(&w)")
        out.append("")
        out.append("")
        out.append(f"def decode_{name}(data):")
        out.append(f'    """The :class:`{pdu.name}` that ``data`` (bytes) encodes; raises DecodeError otherwise."""')
        out.append("    cdef Reader r")
        out.append(f"    cdef {pdu.name} msg")
        out.append("    if type(data) is not bytes:")
        out.append("        data = bytes(data)")
        out.append("    reader_init(&r, data)")
        out.append(f"    msg = _decode_{pdu.name}(&r)")
        out.append(f'    reader_finish(&r, b"{pdu.name}")')
        out.append("    return msg")
        out.append("")
    names = ", ".join(p.name for p in model.pdus)
    out.append("")
    out.append(f"PDUS = ({''.join(p.name + ', ' for p in model.pdus)})")
    out.append('"""The top-level message types, one per interface."""')
    out.append("")
    out.append(f"_ENCODERS = {{{', '.join(f'{p.name}: encode_{function_name(p)}' for p in model.pdus)}}}")
    out.append(f"_DECODERS = {{{', '.join(f'{p.name}: decode_{function_name(p)}' for p in model.pdus)}}}")
    out.append("")
    out.append("")
    out.append("def encode(msg):")
    out.append(f'    """The UPER encoding of any PDU ({names})."""')
    out.append("    encoder = _ENCODERS.get(type(msg))")
    out.append("    if encoder is None:")
    out.append(f'        raise EncodeError(f"encode: expected one of {names}, got {{describe(msg)}}")')
    out.append("    return encoder(msg)")
    out.append("")
    out.append("")
    out.append("def decode(pdu, data):")
    out.append('    """The message of PDU class ``pdu`` that ``data`` encodes."""')
    out.append("    decoder = _DECODERS.get(pdu)")
    out.append("    if decoder is None:")
    out.append(f'        raise TypeError(f"decode: expected one of {names}, got {{pdu!r}}")')
    out.append("    return decoder(data)")
    out.append("")
    out.append("")
    exported = [e.name for e in model.enums] + [c.name for c in model.classes] + ["PDUS", "encode", "decode"]
    for p in model.pdus:
        exported += [f"encode_{function_name(p)}", f"decode_{function_name(p)}"]
    out.append("__all__ = [")
    out += [f'    "{n}",' for n in exported]
    out.append("]")
    return "\n".join(out) + "\n"


def emit_pyi(model: Model) -> str:
    out = [banner(model, "#").rstrip("\n"), "", "import enum", "from typing import ClassVar", ""]
    for e in model.enums:
        out.append("")
        out.append(f"class {e.name}(enum.IntEnum):")
        out += [f"    {item} = {i}" for i, item in enumerate(e.items)]
    for cls in model.classes:
        out.append("")
        out.append(f"class {cls.name}:")
        out.append("    __asn1_module__: ClassVar[str]")
        out.append("    __asn1_name__: ClassVar[str]")
        out.append("    __asn1_fields__: ClassVar[tuple[tuple[str, str], ...]]")
        out.append("    __match_args__: ClassVar[tuple[str, ...]]")
        args = "".join(f", {f.attr}: {python_type(f.type)}" for f in cls.fields)
        out.append(f"    def __init__(self{args}) -> None: ...")
        for f in cls.fields:
            out.append("    @property")
            out.append(f"    def {f.attr}(self) -> {python_type(f.type)}: ...")
    out.append("")
    pdus = " | ".join(p.name for p in model.pdus)
    out.append(f"PDU = {pdus}")
    out.append(f"PDUS: tuple[type[PDU], ...]")
    out.append("")
    out.append("def encode(msg: PDU) -> bytes: ...")
    out.append("def decode(pdu: type[PDU], data: bytes) -> PDU: ...")
    for p in model.pdus:
        n = function_name(p)
        out.append(f"def encode_{n}(msg: {p.name}) -> bytes: ...")
        out.append(f"def decode_{n}(data: bytes) -> {p.name}: ...")
    return "\n".join(out) + "\n"
