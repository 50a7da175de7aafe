"""Fixtures of the codec benchmarks: the compiled floors and the asn1tools spec.

``floors`` compiles ``bench/_floors.pyx`` once per session into
``bench/.build/`` (Cython + setuptools ``build_ext``; both skip work that is up
to date, so later sessions only pay the import) and imports it from there. The
floors ``cimport`` the message classes from ``hanode._codec``, so the Cython
include path is the folder holding the ``hanode`` package that is imported
here -- the same one the benchmarks measure.
"""

from __future__ import annotations

import filecmp
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

import hanode
import hanode.codec  # noqa: F401  -- fail early and loudly if the codec is not built

BENCH_DIR = Path(__file__).resolve().parent
BUILD_DIR = BENCH_DIR / ".build"
ASN1_DIR = BENCH_DIR.parent / "asn1"

# The codec's directives (setup.py), so the floors' def functions are compiled
# -- and called -- the same way as hanode._codec's.
COMPILER_DIRECTIVES = {
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
    "embedsignature": True,
}


def build_floors():
    """Compile ``_floors.pyx`` into ``bench/.build/`` and import it."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    include_dir = str(Path(hanode.__file__).resolve().parent.parent)
    src_dir = BUILD_DIR / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    # Cython writes the .c next to the .pyx: compile a copy inside .build/
    # (copied only when changed, so the up-to-date checks keep working).
    pyx = src_dir / "_floors.pyx"
    original = BENCH_DIR / "_floors.pyx"
    if not pyx.exists() or not filecmp.cmp(original, pyx, shallow=False):
        shutil.copyfile(original, pyx)

    extensions = cythonize(
        [Extension("_floors", [str(pyx)])],
        include_path=[include_dir],
        language_level=3,
        compiler_directives=COMPILER_DIRECTIVES,
        quiet=True,
    )
    dist = Distribution({"name": "hanode-bench-floors", "ext_modules": extensions})
    cmd = build_ext(dist)
    cmd.build_lib = str(BUILD_DIR / "lib")
    cmd.build_temp = str(BUILD_DIR / "temp")
    cmd.inplace = False
    cmd.ensure_finalized()
    cmd.run()
    so_path = Path(cmd.get_ext_fullpath("_floors"))

    spec = importlib.util.spec_from_file_location("_floors", so_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def floors():
    """The compiled ``_floors`` extension module."""
    return build_floors()


@pytest.fixture(scope="session")
def asn1_spec():
    """asn1tools' UPER specification of the four ASN.1 modules."""
    import asn1tools

    texts = []
    for path in sorted(ASN1_DIR.glob("*.asn")):
        text = path.read_text(encoding="utf-8")
        # asn1tools rejects the (valid X.680) empty EXPORTS/IMPORTS statements.
        texts.append(re.sub(r"\b(EXPORTS|IMPORTS)\s*;", "", text))
    assert len(texts) == 4, f"expected 4 ASN.1 modules in {ASN1_DIR}, got {len(texts)}"
    return asn1tools.compile_string("\n".join(texts), "uper")
