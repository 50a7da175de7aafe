"""Service status subsystem (SPEC section 6, seed 3.4): what clients are told.

Rules:

- The status is one token, a function of the node's facts (:func:`token`):
  ``electing`` (unassigned), ``standby`` (standby and healthy: ready to take
  over), ``failed`` (standby and unhealthy: cannot take over), ``promoting``,
  ``active`` (active and every component healthy), ``degraded`` (active with a
  failed component), ``demoting``, ``isolated`` (lost peer and witness: not
  serving) and ``stopping`` (shutting down, throughout the hand-over).
- A client is subscribed from the moment it connects. ``getStatus`` is
  answered with ``getStatusResponse`` carrying the request's correlationId;
  every change of the token sends each client one ``statusIndication`` (with
  the empty correlationId), at once and in the order of the changes. Replies
  and indications leave in the order the events happened.
- Clients only ask: any other PDU from a client closes that client.
- Every change must be one the status diagram allows (:data:`STATUS_TABLE`);
  an undrawn change is a bug in hanode and raises LocalProtocolError, so
  the diagram in docs/states.md is the whole truth.
"""

from __future__ import annotations

from hanode.codec import GetStatus, GetStatusResponse, ServiceStatusMessage, StatusIndication

from .events import Action, CloseClient, Log, SendClient, StatusChanged
from .table import Transition, TransitionTable

TOKENS = ("electing", "standby", "failed", "promoting", "active", "degraded", "demoting", "isolated", "stopping")


def token(state: str, healthy: bool, any_failed: bool, isolated: bool, stopping: bool) -> str:
    """The status token of a node in election ``state``."""
    if stopping:
        return "stopping"
    if state == "unassigned":
        return "isolated" if isolated else "electing"
    if state == "standby":
        return "standby" if healthy else "failed"
    if state == "active":
        return "degraded" if any_failed or not healthy else "active"
    return state  # promoting, demoting


def _t(source: str, target: str, why: str) -> Transition:
    return Transition(source, why, target)


STATUS_TABLE = TransitionTable(
    "service status",
    TOKENS,
    [
        _t("electing", "standby", "peer announced, or lost the election"),
        _t("electing", "failed", "lost the election, unhealthy"),
        _t("electing", "promoting", "won the election, or no peer after startup_grace"),
        _t("electing", "isolated", "no peer and no witness"),
        _t("isolated", "electing", "peer or witness back"),
        _t("standby", "failed", "a required component failed"),
        _t("failed", "standby", "components recovered"),
        _t("standby", "promoting", "peer lost, or peer handed over"),
        _t("failed", "promoting", "peer lost: serve as best we can"),
        _t("standby", "electing", "rejoin after a freeze, or isolated"),
        _t("failed", "electing", "rejoin after a freeze, or isolated"),
        _t("standby", "isolated", "lost peer and witness"),
        _t("failed", "isolated", "lost peer and witness"),
        _t("promoting", "active", "every component took the role"),
        _t("promoting", "degraded", "promoted with a failed component"),
        _t("promoting", "demoting", "hand-over, dual active lost, freeze, isolation"),
        _t("active", "degraded", "a component failed"),
        _t("degraded", "active", "components recovered"),
        _t("active", "demoting", "hand-over, dual active lost, freeze, isolation"),
        _t("degraded", "demoting", "hand-over, dual active lost, freeze, isolation"),
        _t("demoting", "standby", "demoted"),
        _t("demoting", "failed", "demoted, unhealthy"),
        _t("demoting", "electing", "demoted, rejoining"),
        _t("demoting", "isolated", "demoted, lost peer and witness"),
        _t("demoting", "promoting", "hand-over refused or peer lost: promote again"),
        *(_t(s, "stopping", "shutdown") for s in TOKENS if s != "stopping"),
    ],
    initial="electing",
)


class StatusService:
    """The status token and the clients that follow it. Sans-IO."""

    def __init__(self) -> None:
        self.status = "electing"
        self.clients: set[int] = set()

    def update(self, new: str) -> list[Action]:
        """Set the token; on a change, tell every client, in order."""
        if new == self.status:
            return []
        old = self.status
        STATUS_TABLE.move(old, new)
        self.status = new
        indication = ServiceStatusMessage("", StatusIndication(new))
        actions: list[Action] = [StatusChanged(old, new), Log("info", "status", f"status {old} -> {new}")]
        actions += [SendClient(client, indication) for client in self.clients]
        return actions

    def connected(self, client: int) -> list[Action]:
        self.clients.add(client)
        return []

    def disconnected(self, client: int) -> list[Action]:
        self.clients.discard(client)
        return []

    def message(self, client: int, msg: ServiceStatusMessage) -> list[Action]:
        if client not in self.clients:
            return []  # late data from a closed client
        if type(msg.message) is GetStatus:
            return [SendClient(client, ServiceStatusMessage(msg.correlation_id, GetStatusResponse(self.status)))]
        self.clients.discard(client)
        reason = f"clients may only send getStatus, got {type(msg.message).__name__}"
        return [CloseClient(client, reason), Log("warning", "client", f"closed status client {client}: {reason}")]

