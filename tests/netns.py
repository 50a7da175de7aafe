"""Real network paths for the partition tests (tests/test_partition.py).

:class:`Net` builds, in network namespaces of its own, a small LAN::

    hn-a-TAG  10.77.0.1  node a (alpha)   --+
    hn-b-TAG  10.77.0.2  node b (beta)    --+-- br0 in hn-br-TAG
    hn-w-TAG  10.77.0.3  the witness      --+
    hn-p-TAG  10.77.0.4  the delay proxy  --+

Each host has loopback up and one veth (``eth0``) whose other end is a port
of the bridge ``br0`` in the namespace ``hn-br-TAG``. Nothing is created in
the root namespace, so a run cannot disturb the machine or another run (the
tag is random). Processes are started inside a host with ``ip netns exec``
(:meth:`Net.popen`), each in its own session; :meth:`Net.close` kills their
process groups and deletes every namespace (with them the veths and the
bridge), even after a partial :meth:`Net.up`.

Faults are nftables rules on the bridge (table ``bridge hn``, hook
``forward`` in ``hn-br-TAG``), rewritten as a whole in one ``nft -f``
transaction: :meth:`Net.cut` drops every IPv4 packet between two hosts,
:meth:`Net.loss` a random share of them (``numgen random mod 100 < N``),
:meth:`Net.heal` removes them. A drop there is silent, as a pulled cable or
a lossy switch is: no RST, no ICMP, and neither end's stack knows (a drop in
a host's own output hook is reported to its TCP, which just sends again:
that would be a short stall, not a loss). ARP still passes.

This kernel has no netem, so latency comes from :class:`DelayProxy`, a TCP
forwarder that runs in ``hn-p`` and holds every chunk for the current delay
before passing it on (order kept; no bandwidth limit). Point an agent's
``peer.address`` at it. The witness is :meth:`Net.witness`: a listener
that accepts and closes, all a witness must do (docs/operations.md 6.4).

Run as a script, this file is those two helpers' process::

    python netns.py witness HOST PORT
    python netns.py proxy HOST LPORT=UPHOST:UPPORT ...   (stdin: "delay SECONDS")

Both print ``ready`` once listening; the proxy answers ``delay X`` to each
command once the new delay is in force.
"""

from __future__ import annotations

import os
import queue
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HOSTS = {"a": "10.77.0.1", "b": "10.77.0.2", "w": "10.77.0.3", "p": "10.77.0.4"}
PREFIX_LEN = 24
TABLE = "hn"
HERE = Path(__file__).resolve()


class NetUnavailable(Exception):
    """Namespaces or nftables cannot be used here; the message says why (a skip reason)."""


def unavailable() -> str | None:
    """Why :class:`Net` cannot work on this machine, or None."""
    if os.geteuid() != 0:
        return "partition tests need root (network namespaces, nftables): run them as root"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) not found: install iproute2"
    if shutil.which("nft") is None:
        return "`nft` not found: install nftables (apt-get install -y nftables)"
    return None


def _run(argv: list[str], *, stdin: str | None = None, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, argv, done.stdout, done.stderr)
    return done


def kill_group(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGKILL ``proc``'s process group (it leads one: started with a new
    session) and reap it; nothing if it has exited (its pid may be reused)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """One line of ``proc``'s stdout (a pipe), or "" at EOF or after ``timeout``."""
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 1)  # byte by byte: nothing after the line is consumed
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


class Net:
    """The namespaces of one test (see the module doc). Use as a context
    manager, or :meth:`up` then :meth:`close` in a ``finally``."""

    def __init__(self, tag: str | None = None, hosts: dict[str, str] | None = None, log_dir: str | os.PathLike = "/tmp"):
        self.tag = tag or secrets.token_hex(3)
        self.hosts = dict(hosts or HOSTS)
        self.bridge_ns = f"hn-br-{self.tag}"
        self.log_dir = Path(log_dir)
        self.created: list[str] = []          # namespaces, in creation order
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.faults: dict[tuple[str, str], int] = {}  # (host, host) sorted -> percent dropped

    def __enter__(self) -> Net:
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- layout
    def ns(self, host: str) -> str:
        return f"hn-{host}-{self.tag}"

    def addr(self, host: str) -> str:
        return self.hosts[host]

    # -- building and tearing down
    def _add_ns(self, name: str) -> None:
        done = _run(["ip", "netns", "add", name], check=False)
        if done.returncode != 0:
            raise NetUnavailable(f"`ip netns add {name}` failed: {done.stderr.strip() or done.returncode}")
        self.created.append(name)
        _run(["ip", "-n", name, "link", "set", "dev", "lo", "up"])

    def up(self) -> Net:
        """Create the namespaces, the bridge and the links; check that nft
        can filter on the bridge. Raises :class:`NetUnavailable` (a skip reason)
        or CalledProcessError; call :meth:`close` either way."""
        self._add_ns(self.bridge_ns)
        br = ["ip", "-n", self.bridge_ns]
        _run([*br, "link", "add", "br0", "type", "bridge"])
        _run([*br, "link", "set", "dev", "br0", "up"])
        for host, address in self.hosts.items():
            ns = self.ns(host)
            self._add_ns(ns)
            port = f"p-{host}"
            _run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", self.bridge_ns])
            _run([*br, "link", "set", "dev", port, "master", "br0"])
            _run([*br, "link", "set", "dev", port, "up"])
            _run(["ip", "-n", ns, "addr", "add", f"{address}/{PREFIX_LEN}", "dev", "eth0"])
            _run(["ip", "-n", ns, "link", "set", "dev", "eth0", "up"])
        try:
            self._apply()  # creates and deletes the table: the bridge family works here
        except subprocess.CalledProcessError as e:
            raise NetUnavailable(f"nftables' bridge family does not work in a namespace here: {e.stderr.strip()}") from None
        return self

    def close(self) -> None:
        """Kill every process started here (process groups), then delete
        every namespace created here. Safe to call twice, or after a failed up()."""
        for _, proc in self.procs:
            kill_group(proc)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        self.procs.clear()
        for name in reversed(self.created):
            _run(["ip", "netns", "del", name], check=False)
        self.created.clear()

    def leftovers(self) -> list[str]:
        """Namespaces of this tag that still exist (after close: none)."""
        listed = _run(["ip", "netns", "list"], check=False).stdout.split()
        return [n for n in listed if n.endswith(f"-{self.tag}") and n.startswith("hn-")]

    # -- processes
    def exec_argv(self, host: str, argv: list[str]) -> list[str]:
        """``argv`` run inside ``host``'s namespace."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def run(self, host: str, *argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run a short command inside ``host``; its output captured."""
        return _run(self.exec_argv(host, list(argv)), check=check, stdin=stdin)

    def popen(self, host: str, argv: list[str], name: str, *, pipes: bool = False, env: dict | None = None) -> subprocess.Popen:
        """A long-running process inside ``host``, in its own session; stderr
        (and stdout unless ``pipes``) to ``log_dir/NAME.log``; with ``pipes``
        its stdin and stdout are pipes. Killed by :meth:`close`."""
        with open(self.log_dir / f"{name}.log", "ab") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} netns: starting {name} in {self.ns(host)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self.exec_argv(host, argv), stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log, stderr=log, env=env, start_new_session=True,
            )
        self.procs.append((name, proc))
        return proc

    def _helper(self, host: str, name: str, *args: str) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = self.popen(host, [sys.executable, str(HERE), *args], name, pipes=True, env=env)
        line = read_line(proc, 15.0)
        if line != "ready":
            raise RuntimeError(f"{name} did not start in {self.ns(host)} (said {line!r}); see {self.log_dir}/{name}.log")
        return proc

    def witness(self, port: int, host: str = "w") -> str:
        """Start the witness (accepts, then closes) on ``host``; its host:port."""
        self._helper(host, "witness", "witness", self.addr(host), str(port))
        return f"{self.addr(host)}:{port}"

    def proxy(self, routes: dict[int, str], host: str = "p") -> DelayProxy:
        """Start a :class:`DelayProxy` on ``host``: port -> "upstream host:port"."""
        specs = [f"{port}={up}" for port, up in routes.items()]
        return DelayProxy(self._helper(host, "proxy", "proxy", self.addr(host), *specs), self.addr(host))

    # -- faults
    def _apply(self) -> None:
        # "add table" first makes "delete table" valid whether it existed or
        # not: the old rules go and the new ones come in one transaction.
        rules = ""
        for (x, y), percent in sorted(self.faults.items()):
            draw = "" if percent >= 100 else f" numgen random mod 100 < {percent}"
            for src, dst in ((x, y), (y, x)):
                match = f"ip saddr {self.addr(src)} ip daddr {self.addr(dst)}"
                rules += f"    {match} counter\n    {match}{draw} counter drop\n"  # seen, then dropped
        script = f"add table bridge {TABLE}\ndelete table bridge {TABLE}\n"
        if rules:
            script += (f"table bridge {TABLE} {{\n  chain forward {{\n"
                       f"    type filter hook forward priority 0; policy accept;\n{rules}  }}\n}}\n")
        _run(["ip", "netns", "exec", self.bridge_ns, "nft", "-f", "-"], stdin=script)

    def _set(self, host: str, others: list[str], percent: int) -> None:
        for other in others:
            if other == host or other not in self.hosts:
                raise ValueError(f"no link between {host!r} and {other!r}")
            self.faults[tuple(sorted((host, other)))] = percent
        self._apply()

    def cut(self, host: str, others: list[str]) -> None:
        """No packet passes between ``host`` and any of ``others``, either way."""
        self._set(host, others, 100)

    def loss(self, host: str, others: list[str], percent: int) -> None:
        """Each packet between ``host`` and ``others`` is dropped with
        probability ``percent``/100, independently, each way."""
        if not 0 <= percent <= 100:
            raise ValueError(f"percent must be 0-100, got {percent}")
        self._set(host, others, percent)

    def heal(self, host: str | None = None) -> None:
        """Remove the faults between ``host`` and anyone (default: every fault)."""
        self.faults = {k: v for k, v in self.faults.items() if host is not None and host not in k}
        self._apply()

    def counts(self) -> tuple[int, int]:
        """(packets seen, packets dropped) by the faults in force, since they were set."""
        seen = dropped = 0
        for line in self.ruleset().splitlines():
            words = line.split()
            if "counter" in words and "packets" in words:
                n = int(words[words.index("packets") + 1])
                if "drop" in words:
                    dropped += n
                else:
                    seen += n
        return seen, dropped

    def ruleset(self) -> str:
        """The rules in force, as nft lists them (for a failure message)."""
        return _run(["ip", "netns", "exec", self.bridge_ns, "nft", "list", "ruleset"], check=False).stdout


class DelayProxy:
    """Handle on a running proxy (see :func:`proxy_main`)."""

    def __init__(self, proc: subprocess.Popen, host: str):
        self.proc = proc
        self.host = host
        self.delay = 0.0

    def set_delay(self, seconds: float) -> None:
        """Hold every chunk read from now on for ``seconds`` before passing it on."""
        self.proc.stdin.write(f"delay {seconds}\n".encode())
        self.proc.stdin.flush()
        answer = read_line(self.proc, 10.0)
        if answer != f"delay {float(seconds)}":
            raise RuntimeError(f"the proxy did not take the delay {seconds}: it said {answer!r}")
        self.delay = float(seconds)


# -- the helper processes -----------------------------------------------------------------------

def _log(text: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {text}\n")


def witness_main(host: str, port: int) -> None:
    """Accept every connection and close it at once."""
    with socket.create_server((host, port), backlog=128) as server:
        print("ready", flush=True)
        while True:
            conn, _ = server.accept()
            conn.close()


def proxy_main(host: str, routes: list[str]) -> None:
    """Forward each ``LPORT=UPHOST:UPPORT``, every chunk held for the delay in
    force when it was read. Commands on stdin: ``delay SECONDS``."""
    delay = [0.0]

    def end(both: list[socket.socket]) -> None:
        for s in both:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv (close would not)
            except OSError:
                pass
            s.close()

    def pump(src: socket.socket, dst: socket.socket, both: list[socket.socket], done: list[int], label: str) -> None:
        chunks: queue.Queue = queue.Queue()

        def writer() -> None:
            try:
                while True:
                    due, data = chunks.get()
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    if data is None:
                        dst.shutdown(socket.SHUT_WR)
                        break
                    dst.sendall(data)
            except OSError:
                pass  # the other side is gone: end both directions
            else:
                done.append(1)
                if len(done) < 2:  # the other direction still runs
                    return
            end(both)

        threading.Thread(target=writer, daemon=True).start()
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            chunks.put((time.monotonic() + delay[0], data or None))
            if not data:
                _log(f"{label}: end of stream")
                return

    def serve(server: socket.socket, upstream: tuple[str, int]) -> None:
        while True:
            client, remote = server.accept()
            try:
                up = socket.create_connection(upstream, timeout=2.0)
                up.settimeout(None)
            except OSError as e:
                _log(f"{remote} -> {upstream}: upstream refused ({e})")
                client.close()
                continue
            label = f"{remote[0]}:{remote[1]} -> {upstream[0]}:{upstream[1]}"
            _log(f"{label}: open (delay {delay[0]:g} s)")
            both, done = [client, up], []
            threading.Thread(target=pump, args=(client, up, both, done, label + " (out)"), daemon=True).start()
            threading.Thread(target=pump, args=(up, client, both, done, label + " (back)"), daemon=True).start()

    for spec in routes:
        port, up = spec.split("=")
        uphost, upport = up.rsplit(":", 1)
        server = socket.create_server((host, int(port)), backlog=64)
        threading.Thread(target=serve, args=(server, (uphost, int(upport))), daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if len(words) == 2 and words[0] == "delay":
            delay[0] = float(words[1])
            _log(f"delay now {delay[0]:g} s")
            print(f"delay {delay[0]}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["witness"]:
        witness_main(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["proxy"]:
        proxy_main(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(f"usage: {sys.argv[0]} witness HOST PORT | proxy HOST LPORT=UPHOST:UPPORT ...")
