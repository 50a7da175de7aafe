"""Parse the X.680 subset that hanode's interfaces use into a syntax tree.

Supported: module headers with ``AUTOMATIC TAGS``, ``EXPORTS`` (``;``,
``ALL ;`` or a symbol list) and ``IMPORTS ;``; type assignments of
``SEQUENCE { ... }``, ``CHOICE { ... }``, ``ENUMERATED { a, b }``,
``NumericString`` and ``UTF8String`` with an optional ``(SIZE(n))`` or
``(SIZE(lb..ub))`` constraint, and type references. Everything else is
refused with a :class:`GeneratorError` that names the file, line and dotted
location, rather than compiled into something silently wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import GeneratorError

# Built-in type keywords we know of, to tell "unsupported" from "unknown name".
_UNSUPPORTED_BUILTINS = {
    "BOOLEAN", "INTEGER", "REAL", "NULL", "BIT", "OCTET", "OBJECT", "SET",
    "IA5String", "PrintableString", "VisibleString", "BMPString", "UniversalString",
    "TeletexString", "T61String", "VideotexString", "GraphicString", "GeneralString",
    "ISO646String", "GeneralizedTime", "UTCTime", "ANY", "EXTERNAL", "EMBEDDED",
    "RELATIVE-OID", "TIME", "DATE", "DATE-TIME", "DURATION", "CHARACTER",
}
STRING_TYPES = ("NumericString", "UTF8String")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<block>/\*.*?\*/)
  | (?P<assign>::=)
  | (?P<ellipsis>\.\.\.)
  | (?P<range>\.\.)
  | (?P<cstring>"(?:[^"]|"")*")
  | (?P<number>-?\d+)
  | (?P<word>[A-Za-z](?:-?[A-Za-z0-9])*)
  | (?P<punct>[{}(),;|\[\]<>@!^:.&])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Pos:
    """Where a construct starts in the source."""

    file: str
    line: int
    col: int


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: Pos


@dataclass(frozen=True)
class SizeAst:
    lb: int
    ub: int
    pos: Pos


@dataclass(frozen=True)
class StringAst:
    """``NumericString`` or ``UTF8String``, with its SIZE constraint if any."""

    kind: str
    size: SizeAst | None
    pos: Pos


@dataclass(frozen=True)
class RefAst:
    name: str
    pos: Pos


@dataclass(frozen=True)
class ComponentAst:
    """A SEQUENCE component or a CHOICE alternative."""

    name: str
    type: "TypeAst"
    pos: Pos


@dataclass(frozen=True)
class SequenceAst:
    components: tuple[ComponentAst, ...]
    pos: Pos


@dataclass(frozen=True)
class ChoiceAst:
    alternatives: tuple[ComponentAst, ...]
    pos: Pos


@dataclass(frozen=True)
class EnumeratedAst:
    items: tuple[str, ...]
    pos: Pos


TypeAst = StringAst | RefAst | SequenceAst | ChoiceAst | EnumeratedAst


@dataclass(frozen=True)
class AssignmentAst:
    name: str
    type: TypeAst
    pos: Pos


@dataclass
class ModuleAst:
    name: str
    file: str
    pos: Pos
    assignments: list[AssignmentAst] = field(default_factory=list)


def tokenize(text: str, file: str) -> list[Token]:
    """Split ASN.1 source into tokens, dropping white space and comments."""
    # X.680 12.6: a comment runs from "--" to the next "--" or the end of the line.
    text = re.sub(r"--.*?(--|$)", lambda m: " " * len(m.group(0)), text, flags=re.MULTILINE)
    tokens: list[Token] = []
    line, line_start, i = 1, 0, 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise GeneratorError(
                f"unexpected character {text[i]!r}", file=file, line=line, col=i - line_start + 1
            )
        kind = m.lastgroup
        assert kind is not None
        if kind not in ("ws", "block"):
            tokens.append(Token(kind, m.group(), Pos(file, line, i - line_start + 1)))
        newlines = m.group().count("\n")
        if newlines:
            line += newlines
            line_start = m.start() + m.group().rindex("\n") + 1
        i = m.end()
    tokens.append(Token("eof", "", Pos(file, line, i - line_start + 1)))
    return tokens


class _Parser:
    def __init__(self, text: str, file: str):
        self.file = file
        self.tokens = tokenize(text, file)
        self.i = 0
        self.path: list[str] = []

    # -- token helpers -----------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: Token | None = None) -> GeneratorError:
        tok = tok or self.tok
        return GeneratorError(
            message, file=self.file, line=tok.pos.line, col=tok.pos.col, where=".".join(self.path)
        )

    def advance(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind != "eof":
            self.i += 1
            return True
        return False

    def expect(self, text: str, what: str = "") -> Token:
        if self.tok.text != text or self.tok.kind == "eof":
            found = repr(self.tok.text) if self.tok.kind != "eof" else "the end of the file"
            raise self.error(f"expected {what or repr(text)}, found {found}")
        return self.advance()

    def identifier(self, what: str, upper: bool | None = None) -> Token:
        tok = self.tok
        if tok.kind != "word":
            found = repr(tok.text) if tok.kind != "eof" else "the end of the file"
            raise self.error(f"expected {what}, found {found}")
        if upper is True and not tok.text[0].isupper():
            raise self.error(f"{what} must begin with an upper-case letter (X.680 12.2), got {tok.text!r}")
        if upper is False and not tok.text[0].islower():
            raise self.error(f"{what} must begin with a lower-case letter (X.680 12.3), got {tok.text!r}")
        return self.advance()

    # -- grammar -------------------------------------------------------------
    def module(self) -> ModuleAst:
        start = self.identifier("a module reference", upper=True)
        mod = ModuleAst(start.text, self.file, start.pos)
        self.path = [mod.name]
        if self.tok.text == "{":
            raise self.error("module object identifiers are not supported; remove the { ... } after the module name")
        self.expect("DEFINITIONS")
        tagging = None
        if self.tok.text in ("AUTOMATIC", "EXPLICIT", "IMPLICIT"):
            tagging = self.advance()
            self.expect("TAGS")
        if tagging is None or tagging.text != "AUTOMATIC":
            # With explicit or implicit tagging a CHOICE's PER index follows tag
            # order, not textual order; the modules use AUTOMATIC TAGS.
            raise self.error("only AUTOMATIC TAGS modules are supported; write 'DEFINITIONS AUTOMATIC TAGS ::='", tagging)
        if self.tok.text == "EXTENSIBILITY":
            raise self.error("EXTENSIBILITY IMPLIED is not supported")
        self.expect("::=")
        self.expect("BEGIN")
        if self.accept("EXPORTS"):
            # Exports say what other modules may import; they change no encoding.
            while self.tok.text != ";":
                if self.tok.kind == "eof":
                    raise self.error("EXPORTS must end with ';'")
                self.advance()
            self.expect(";")
        if self.accept("IMPORTS"):
            if self.tok.text != ";":
                raise self.error("importing symbols is not supported (only 'IMPORTS ;'): define the types in this module")
            self.expect(";")
        while not self.accept("END"):
            mod.assignments.append(self.assignment())
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self.tok.text!r} after END; one module per file")
        return mod

    def assignment(self) -> AssignmentAst:
        tok = self.tok
        if tok.kind == "word" and tok.text[0].islower():
            raise self.error(f"value assignments are not supported ({tok.text!r}); only type assignments")
        name = self.identifier("a type assignment (TypeName ::= Type) or END", upper=True)
        self.path.append(name.text)
        try:
            self.expect("::=", "'::=' after the type name")
            typ = self.type()
        finally:
            self.path.pop()
        return AssignmentAst(name.text, typ, name.pos)

    def type(self) -> TypeAst:
        tok = self.tok
        if tok.kind != "word":
            raise self.error(f"expected a type, found {tok.text or 'the end of the file'!r}")
        text = tok.text
        if text == "SEQUENCE":
            self.advance()
            if self.tok.text in ("OF", "(", "SIZE"):
                raise self.error("SEQUENCE OF is not supported", tok)
            return SequenceAst(self.components("SEQUENCE"), tok.pos)
        if text == "CHOICE":
            self.advance()
            alternatives = self.components("CHOICE")
            if not alternatives:
                raise self.error("a CHOICE needs at least one alternative", tok)
            return ChoiceAst(alternatives, tok.pos)
        if text == "ENUMERATED":
            self.advance()
            return self.enumerated(tok)
        if text in STRING_TYPES:
            self.advance()
            return StringAst(text, self.size_constraint(), tok.pos)
        if text in _UNSUPPORTED_BUILTINS:
            raise self.error(
                f"type {text} is not supported (supported: SEQUENCE, CHOICE, ENUMERATED, "
                "NumericString, UTF8String and references to them)",
                tok,
            )
        if not text[0].isupper():
            raise self.error(f"expected a type, found {text!r}")
        self.advance()
        if self.tok.text == "(":
            raise self.error(f"constraints on a type reference ({text}) are not supported; constrain the referenced type")
        return RefAst(text, tok.pos)

    def components(self, kind: str) -> tuple[ComponentAst, ...]:
        self.expect("{", f"'{{' after {kind}")
        items: list[ComponentAst] = []
        seen: set[str] = set()
        while self.tok.text != "}":
            if self.tok.text in ("...", "["):
                raise self.error(f"{'extension markers' if self.tok.text == '...' else 'explicit tags'} are not supported in a {kind}")
            if self.tok.text == "COMPONENTS":
                raise self.error("COMPONENTS OF is not supported")
            name = self.identifier(f"a {kind} component name", upper=False)
            if name.text in seen:
                raise self.error(f"{name.text!r} appears twice in this {kind}", name)
            seen.add(name.text)
            self.path.append(name.text)
            try:
                typ = self.type()
                if self.tok.text in ("OPTIONAL", "DEFAULT"):
                    raise self.error(f"{self.tok.text} components are not supported")
            finally:
                self.path.pop()
            items.append(ComponentAst(name.text, typ, name.pos))
            if not self.accept(","):
                break
        self.expect("}", f"',' or '}}' in {kind}")
        return tuple(items)

    def enumerated(self, start: Token) -> EnumeratedAst:
        self.expect("{", "'{' after ENUMERATED")
        items: list[str] = []
        while self.tok.text != "}":
            if self.tok.text == "...":
                raise self.error("extensible ENUMERATED types are not supported")
            name = self.identifier("an enumeration item", upper=False)
            if self.tok.text == "(":
                raise self.error(f"explicit enumeration values ({name.text}(n)) are not supported")
            if name.text in items:
                raise self.error(f"{name.text!r} appears twice in this ENUMERATED", name)
            items.append(name.text)
            if not self.accept(","):
                break
        self.expect("}", "',' or '}' in ENUMERATED")
        if not items:
            raise self.error("an ENUMERATED needs at least one item", start)
        return EnumeratedAst(tuple(items), start.pos)

    def size_constraint(self) -> SizeAst | None:
        if self.tok.text != "(":
            return None
        open_ = self.advance()
        if self.tok.text != "SIZE":
            raise self.error("only SIZE constraints are supported on strings, e.g. (SIZE(0..16))")
        self.advance()
        self.expect("(", "'(' after SIZE")
        lb = self.number()
        ub = lb
        if self.accept(".."):
            ub = self.number()
        self.expect(")", "')' closing SIZE(...)")
        self.expect(")", "')' closing the constraint")
        if lb < 0 or ub < lb:
            raise self.error(f"SIZE({lb}..{ub}) is empty or negative", open_)
        if self.tok.text == "(":
            raise self.error("only one SIZE constraint is supported on a type")
        return SizeAst(lb, ub, open_.pos)

    def number(self) -> int:
        tok = self.tok
        if tok.kind != "number":
            raise self.error(f"expected a number, found {tok.text!r}" + (" (MIN/MAX bounds are not supported)" if tok.text in ("MIN", "MAX") else ""))
        self.advance()
        return int(tok.text)


def parse_module(text: str, file: str) -> ModuleAst:
    """Parse one ``.asn`` file holding one module."""
    return _Parser(text, file).module()
