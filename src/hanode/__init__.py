"""hanode: an HA failover agent for an active/standby pair.

The layers, bottom up: :mod:`hanode.codec` (UPER messages, generated from
``asn1/``) and :mod:`hanode.framing` (frames on streams); the sans-IO cores
that decide; the Trio agent that drives them; the CLI and dashboard on top.
"""

__version__ = "0.1.0"
