"""The decision logic of a node, with no I/O in it.

Each subsystem is a plain state machine in the style of h11 and aioquic: it
takes events with ``now`` passed in, returns actions, and says when it next
wants to be woken. None of these modules imports trio, reads a clock, opens a
socket or sleeps (``tests/test_core_purity.py`` enforces it). The Trio agent
only moves bytes and time:

- :mod:`.election`: which node is active (SPEC section 3)
- :mod:`.role`: each component's role, in order (section 4)
- :mod:`.monitor`: who is healthy (section 5)
- :mod:`.status`: the service status clients see (section 6)
- :mod:`.node`: the four composed into one object with one entry point
"""

from .events import *  # noqa: F403
from .events import __all__ as _events_all
from .node import Node
from .settings import ComponentSpec, NodeSpec, Timers

__all__ = [*_events_all, "Node", "NodeSpec", "ComponentSpec", "Timers"]
