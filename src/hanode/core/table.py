"""Transition tables: the rules of a state machine as data.

As in h11's ``_state.py``, a machine's legal moves are a table keyed by
(state, input); a missing key is the illegal case. The same table renders the
state diagram in ``docs/states.md`` (Mermaid), so the picture cannot drift
from the code.
"""

from __future__ import annotations

from dataclasses import dataclass


class LocalProtocolError(Exception):
    """A core was driven in a way its table does not allow: a bug in hanode."""


@dataclass(frozen=True)
class Transition:
    source: str
    stimulus: str
    target: str
    note: str = ""


class TransitionTable:
    """An ordered set of transitions with lookup and a Mermaid rendering."""

    def __init__(self, name: str, states: tuple[str, ...], transitions: list[Transition], initial: str):
        self.name = name
        self.states = states
        self.initial = initial
        self.transitions = transitions
        self._index: dict[tuple[str, str], Transition] = {}
        for t in transitions:
            if t.source not in states or t.target not in states:
                raise ValueError(f"{name}: transition {t} names an unknown state")
            if (t.source, t.stimulus) in self._index:
                raise ValueError(f"{name}: two transitions for ({t.source}, {t.stimulus})")
            self._index[(t.source, t.stimulus)] = t

    def get(self, state: str, stimulus: str) -> Transition:
        """The transition for ``stimulus`` in ``state``; LocalProtocolError if there is none."""
        try:
            return self._index[(state, stimulus)]
        except KeyError:
            raise LocalProtocolError(f"{self.name}: {stimulus!r} is not allowed in state {state!r}") from None

    def allows(self, state: str, stimulus: str) -> bool:
        return (state, stimulus) in self._index

    def move(self, source: str, target: str) -> Transition:
        """A transition from ``source`` to ``target``, for machines whose state is
        derived (the status token); LocalProtocolError if none is drawn."""
        for t in self.transitions:
            if t.source == source and t.target == target:
                return t
        raise LocalProtocolError(f"{self.name}: no transition from {source!r} to {target!r}")

    def mermaid(self) -> str:
        """The table as a Mermaid state diagram (self-loops included)."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            label = _mermaid_label(t.stimulus + (f" / {t.note}" if t.note else ""))
            lines.append(f"    {t.source} --> {t.target}: {label}")
        return "\n".join(lines)


# Mermaid's state-diagram lexer ends a transition label at ";", "#" or a
# newline, and "#" also starts an entity code; anything else printable is fine.
_UNSAFE = {";": ",", "#": "", "\n": " ", "\r": " "}


def _mermaid_label(text: str) -> str:
    for bad, good in _UNSAFE.items():
        text = text.replace(bad, good)
    return " ".join(text.split())
