"""Command line and entry points of the generator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .emit import emit_pxd, emit_pyi, emit_pyx
from .errors import GeneratorError
from .model import Model, build_model
from .parser import parse_module

REPO = Path(__file__).resolve().parents[3]
DEFAULT_ASN1 = REPO / "asn1"
DEFAULT_OUT = REPO / "src" / "hanode"


def load_model(asn1_dir: Path, root: Path | None = None) -> Model:
    """Parse and resolve every ``*.asn`` file in ``asn1_dir`` (sorted by name)."""
    files = sorted(asn1_dir.glob("*.asn"))
    if not files:
        raise GeneratorError(f"no .asn files in {asn1_dir}")
    root = root or asn1_dir.parent
    modules = []
    for path in files:
        try:
            shown = path.relative_to(root).as_posix()
        except ValueError:
            shown = path.as_posix()
        modules.append(parse_module(path.read_text(encoding="utf-8"), shown))
    return build_model(modules)


def generate(asn1_dir: Path = DEFAULT_ASN1) -> dict[str, str]:
    """The generated files' names and contents."""
    model = load_model(Path(asn1_dir))
    return {"_codec.pyx": emit_pyx(model), "_codec.pxd": emit_pxd(model), "_codec.pyi": emit_pyi(model)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hanode.codegen",
        description="Generate hanode's Cython UPER codec from the ASN.1 modules.",
    )
    parser.add_argument("--asn1", type=Path, default=DEFAULT_ASN1, help="folder of .asn files (default: asn1/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write _codec.* (default: src/hanode/)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files are stale")
    args = parser.parse_args(argv)
    try:
        files = generate(args.asn1)
    except GeneratorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stale = []
    for name, text in files.items():
        path = args.out / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check:
        if stale:
            print(
                f"stale: {', '.join(stale)} in {args.out} differ from what asn1/ generates; "
                "run `python -m hanode.codegen` and commit the result",
                file=sys.stderr,
            )
            return 1
        print("codec is up to date")
        return 0
    print(f"wrote {', '.join(stale) or 'nothing (up to date)'}")
    return 0
