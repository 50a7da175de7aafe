"""What every sender of hanode PDUs shares: numbering and bills of health.

A correlationId or sequence counter is a NumericString of at most 16
digits (SPEC section 2): each sender numbers from its own counter, 1 upwards,
wrapping after 16 digits back to 1 ("" is kept for unsolicited PDUs).
"""

from __future__ import annotations

from hanode.codec import BillOfHealth, ComponentStatus

BILL_OK = BillOfHealth(ComponentStatus.ok)
BILL_FAILED = BillOfHealth(ComponentStatus.failed)

_WRAP = 10**16 - 1  # the largest 16-digit number


def bill(healthy: bool | None) -> BillOfHealth:
    """The bill of health to send: ``ok`` only when known to be healthy."""
    return BILL_OK if healthy else BILL_FAILED


class Counter:
    """A sender's counter: ``next()`` gives "1", "2", ... "9999999999999999", "1"."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> str:
        self.value = self.value % _WRAP + 1
        return str(self.value)
