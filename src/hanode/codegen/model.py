"""The typed model the emitter works from: every reference resolved, every
constraint attached to the type it limits, every PER field width computed.

Only named SEQUENCE types become classes and only named ENUMERATED types
become enums; aliases such as ``CorrelationId ::= NumericString (SIZE(0..16))``
dissolve into the string type they name. A CHOICE is represented in Python by
the instance of its chosen alternative, so every alternative must be a named
SEQUENCE (or a CHOICE, whose alternatives are then flattened in) and no class
may appear twice in one CHOICE. A PDU is a named SEQUENCE that no other type
refers to.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from .errors import GeneratorError
from .parser import (
    AssignmentAst,
    ChoiceAst,
    ComponentAst,
    EnumeratedAst,
    ModuleAst,
    RefAst,
    SequenceAst,
    StringAst,
    TypeAst,
)

NUMERIC_ALPHABET = " 0123456789"  # X.680 41.2, in canonical (code point) order


def bits_for_range(count: int) -> int:
    """Bits of a constrained whole number with ``count`` possible values (X.691 11.5.7.1)."""
    return (count - 1).bit_length()


def snake_case(name: str) -> str:
    """The Python attribute for an ASN.1 identifier (``billOfHealth`` -> ``bill_of_health``)."""
    attr = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()
    return attr + "_" if keyword.iskeyword(attr) else attr


@dataclass(frozen=True)
class NumericStringType:
    """NumericString (SIZE(lb..ub)): a known-multiplier string, 4 bits a character."""

    lb: int
    ub: int

    @property
    def length_bits(self) -> int:
        return bits_for_range(self.ub - self.lb + 1)

    @property
    def char_bits(self) -> int:
        return bits_for_range(len(NUMERIC_ALPHABET))


@dataclass(frozen=True)
class UTF8StringType:
    """UTF8String: octets with a general length determinant.

    Its SIZE constraint counts characters and is not PER-visible (X.691 30.5):
    it is checked on both sides but changes no bit on the wire.
    """

    lb: int | None
    ub: int | None


@dataclass(frozen=True)
class EnumType:
    name: str
    module: str
    items: tuple[str, ...]

    @property
    def index_bits(self) -> int:
        return bits_for_range(len(self.items))


@dataclass(frozen=True)
class Field:
    """A SEQUENCE component or a CHOICE alternative."""

    name: str
    attr: str
    type: "Type"


@dataclass(frozen=True)
class SequenceType:
    name: str
    module: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ChoiceType:
    name: str | None
    alternatives: tuple[Field, ...]

    @property
    def index_bits(self) -> int:
        return bits_for_range(len(self.alternatives))

    def leaves(self) -> list[tuple[tuple[tuple[int, Field], ...], SequenceType]]:
        """Every SEQUENCE reachable through nested CHOICEs, with the
        (index, alternative) path that selects it."""
        out: list[tuple[tuple[tuple[int, Field], ...], SequenceType]] = []
        for index, alt in enumerate(self.alternatives):
            if isinstance(alt.type, ChoiceType):
                out += [(((index, alt),) + path, leaf) for path, leaf in alt.type.leaves()]
            else:
                assert isinstance(alt.type, SequenceType)
                out.append((((index, alt),), alt.type))
        return out


Type = NumericStringType | UTF8StringType | EnumType | SequenceType | ChoiceType


@dataclass(frozen=True)
class Model:
    modules: tuple[str, ...]
    files: tuple[str, ...]
    enums: tuple[EnumType, ...]
    classes: tuple[SequenceType, ...]  # leaves first: a class follows the classes it holds
    pdus: tuple[SequenceType, ...]


class _Resolver:
    def __init__(self, modules: list[ModuleAst]):
        self.modules = modules
        self.resolved: dict[tuple[str, str], Type] = {}
        self.in_progress: set[tuple[str, str]] = set()
        self.referenced: set[tuple[str, str]] = set()

    def fail(self, message: str, module: ModuleAst, pos, where: list[str]) -> GeneratorError:
        return GeneratorError(message, file=pos.file, line=pos.line, col=pos.col, where=".".join([module.name, *where]))

    def named(self, module: ModuleAst, assignment: AssignmentAst) -> Type:
        key = (module.name, assignment.name)
        if key in self.resolved:
            return self.resolved[key]
        if key in self.in_progress:
            raise self.fail("recursive types are not supported", module, assignment.pos, [assignment.name])
        self.in_progress.add(key)
        typ = self.type(module, assignment.type, [assignment.name], name=assignment.name)
        self.in_progress.discard(key)
        self.resolved[key] = typ
        return typ

    def type(self, module: ModuleAst, ast: TypeAst, where: list[str], name: str | None = None) -> Type:
        if isinstance(ast, RefAst):
            target = next((a for a in module.assignments if a.name == ast.name), None)
            if target is None:
                raise self.fail(f"unknown type {ast.name!r} (not defined in {module.name})", module, ast.pos, where)
            self.referenced.add((module.name, ast.name))
            return self.named(module, target)
        if isinstance(ast, StringAst):
            lb, ub = (ast.size.lb, ast.size.ub) if ast.size else (None, None)
            if ast.kind == "NumericString":
                if ast.size is None:
                    raise self.fail("an unbounded NumericString is not supported; give it a SIZE(lb..ub)", module, ast.pos, where)
                if ast.size.ub >= 65536:
                    raise self.fail("NumericString sizes of 64K or more are not supported", module, ast.pos, where)
                return NumericStringType(ast.size.lb, ast.size.ub)
            return UTF8StringType(lb, ub)
        if isinstance(ast, EnumeratedAst):
            if name is None:
                raise self.fail("an ENUMERATED inside another type needs a name: define it as its own type", module, ast.pos, where)
            return EnumType(name, module.name, ast.items)
        if isinstance(ast, SequenceAst):
            if name is None:
                raise self.fail("a SEQUENCE inside another type needs a name (it becomes a class): define it as its own type", module, ast.pos, where)
            fields = tuple(self.field(module, c, where) for c in ast.components)
            return SequenceType(name, module.name, fields)
        assert isinstance(ast, ChoiceAst)
        choice = ChoiceType(name, tuple(self.field(module, c, where) for c in ast.alternatives))
        for alt, ast_alt in zip(choice.alternatives, ast.alternatives):
            if not isinstance(alt.type, (SequenceType, ChoiceType)):
                raise self.fail(
                    "a CHOICE alternative must be a SEQUENCE or CHOICE type, so that its Python class tells the branch",
                    module, ast_alt.pos, [*where, alt.name],
                )
        seen: dict[str, str] = {}
        for path, leaf in choice.leaves():
            alt_path = ".".join(f.name for _, f in path)
            if leaf.name in seen:
                raise self.fail(
                    f"alternatives {seen[leaf.name]} and {alt_path} are both {leaf.name}; "
                    "each alternative needs its own type so that its class tells the branch",
                    module, ast.pos, where,
                )
            seen[leaf.name] = alt_path
        return choice

    def field(self, module: ModuleAst, comp: ComponentAst, where: list[str]) -> Field:
        return Field(comp.name, snake_case(comp.name), self.type(module, comp.type, [*where, comp.name]))


def build_model(modules: list[ModuleAst]) -> Model:
    """Resolve parsed modules into the model the emitter consumes."""
    names = [m.name for m in modules]
    for name in names:
        if names.count(name) > 1:
            raise GeneratorError(f"module {name} is defined more than once")
    resolver = _Resolver(modules)
    enums: dict[str, EnumType] = {}
    classes: dict[str, SequenceType] = {}
    order: list[SequenceType] = []
    for module in modules:
        for assignment in module.assignments:
            if sum(a.name == assignment.name for a in module.assignments) > 1:
                raise resolver.fail(f"type {assignment.name} is defined twice", module, assignment.pos, [assignment.name])
            typ = resolver.named(module, assignment)
            if isinstance(typ, (EnumType, SequenceType)):
                # One flat Python namespace: a name may recur across modules only
                # for the very same type (as CorrelationId does).
                table: dict = enums if isinstance(typ, EnumType) else classes
                other = table.get(typ.name) or (classes if table is enums else enums).get(typ.name)
                if other is not None and _shape(other) != _shape(typ):
                    raise resolver.fail(
                        f"type {typ.name} is also defined, differently, in {other.module}; "
                        "names of SEQUENCE and ENUMERATED types must be unique across modules",
                        module, assignment.pos, [assignment.name],
                    )
                if other is None:
                    table[typ.name] = typ
    _order_classes(list(classes.values()), order)
    referenced_names = {name for _, name in resolver.referenced}
    pdus = []
    for module in modules:
        for assignment in module.assignments:
            typ = resolver.resolved[(module.name, assignment.name)]
            if assignment.name in referenced_names:
                continue
            if isinstance(typ, ChoiceType):
                raise resolver.fail(
                    "a top-level CHOICE PDU is not supported; wrap it in a SEQUENCE",
                    module, assignment.pos, [assignment.name],
                )
            if isinstance(typ, SequenceType) and classes[typ.name] is typ:
                pdus.append(typ)
    return Model(
        modules=tuple(names),
        files=tuple(m.file for m in modules),
        enums=tuple(enums.values()),
        classes=tuple(order),
        pdus=tuple(pdus),
    )


def _shape(typ: Type) -> object:
    """A module-independent description, to compare same-named types."""
    if isinstance(typ, SequenceType):
        return ("SEQUENCE", typ.name, tuple((f.name, _shape(f.type)) for f in typ.fields))
    if isinstance(typ, ChoiceType):
        return ("CHOICE", tuple((f.name, _shape(f.type)) for f in typ.alternatives))
    if isinstance(typ, EnumType):
        return ("ENUMERATED", typ.name, typ.items)
    return typ


def _order_classes(classes: list[SequenceType], out: list[SequenceType]) -> None:
    """Depth-first, leaves first, otherwise in source order."""
    done: set[str] = set()

    def visit(typ: Type) -> None:
        if isinstance(typ, ChoiceType):
            for alt in typ.alternatives:
                visit(alt.type)
        elif isinstance(typ, SequenceType) and typ.name not in done:
            done.add(typ.name)
            for f in typ.fields:
                visit(f.type)
            out.append(typ)

    for cls in classes:
        visit(cls)
