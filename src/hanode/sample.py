"""A sample component, for the demo, the examples and the end-to-end tests.

``python -m hanode.sample --connect SOCKET --id ID --dir DIR`` runs a
component that records its role and takes orders through files in DIR:

- ``DIR/role`` (written): ``active`` or ``standby``, the role it holds now;
- ``DIR/unhealthy`` (read): while it exists, heartbeats report ``failed``;
- ``DIR/refuse`` (read): while it exists, SetRole is answered ``failure``;
- ``DIR/delay`` (read): seconds to wait before answering a SetRole.

It is built on :mod:`hanode.component` in a dozen lines, as any component is.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import trio

from hanode.codec import Role
from hanode.component import Component


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hanode.sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("--connect", required=True, help="the agent's component socket (path or host:port)")
    parser.add_argument("--id", required=True, help="this component's id, as in the agent's config")
    parser.add_argument("--dir", required=True, help="folder for the role file and the control files")
    parser.add_argument("--heartbeat-interval", type=float, default=0.1)
    parser.add_argument("--dead-after", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s component {args.id} %(levelname)s %(message)s")
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_role(folder, Role.standby)

    async def on_role(role: Role) -> bool:
        delay = folder / "delay"
        if delay.exists():
            await trio.sleep(float(delay.read_text().strip() or 0))
        if (folder / "refuse").exists():
            return False
        write_role(folder, role)
        return True

    component = Component(
        args.connect, args.id, on_role, health=lambda: not (folder / "unhealthy").exists(),
        heartbeat_interval=args.heartbeat_interval, dead_after=args.dead_after,
    )
    try:
        trio.run(component.run)
    except KeyboardInterrupt:
        pass
    return 0


def write_role(folder: Path, role: Role) -> None:
    """Atomically, so that a reader never sees a half-written file."""
    tmp = folder / "role.tmp"
    tmp.write_text(role.name)
    os.replace(tmp, folder / "role")


if __name__ == "__main__":
    raise SystemExit(main())
