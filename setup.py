"""Build the Cython UPER codec and the agent's socket hot path.

``pip install -e .`` compiles ``src/hanode/_codec.pyx`` (generated from
``asn1/`` by ``python -m hanode.codegen``; the ``.pyx`` is committed, the
``.c`` never is). ``HANODE_ANNOTATE=1`` writes Cython's HTML annotation next
to the source; ``HANODE_LINETRACE=1`` builds with line tracing for profiling.
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

linetrace = os.environ.get("HANODE_LINETRACE") == "1"

extensions = [
    Extension(
        "hanode._codec",
        ["src/hanode/_codec.pyx"],
        define_macros=[("CYTHON_TRACE_NOGIL", "1")] if linetrace else [],
    ),
    # hand-written: read, frame and decode every ready socket; write every heartbeat
    Extension(
        "hanode.agent._fastio",
        ["src/hanode/agent/_fastio.pyx"],
        define_macros=[("CYTHON_TRACE_NOGIL", "1")] if linetrace else [],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        annotate=os.environ.get("HANODE_ANNOTATE") == "1",
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
            "embedsignature": True,
            "linetrace": linetrace,
        },
    ),
)
