"""The generator's one error type."""

from __future__ import annotations


class GeneratorError(Exception):
    """An ASN.1 source the generator cannot compile.

    The message reads ``file:line:col: Module.Type.field: what is wrong``.
    """

    def __init__(self, message: str, *, file: str = "", line: int = 0, col: int = 0, where: str = ""):
        self.file, self.line, self.col, self.where = file, line, col, where
        position = ":".join(str(p) for p in (file, line, col) if p) if file else ""
        prefix = f"{position}: " if position else ""
        located = f"{where}: " if where else ""
        super().__init__(f"{prefix}{located}{message}")
