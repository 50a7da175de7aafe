# cython: language_level=3
"""The agent's socket hot path, in C: hand-written, not generated.

A thousand components at 10 Hz is ten thousand reads and ten thousand writes
a second on as many sockets. In Python each costs a 16 KiB buffer allocated
per ``os.read`` and a dozen calls around the syscall; here it is the syscall
and the codec.

- :class:`Channel`: one socket connection as the read mux and the writers see
  it: its descriptor, whether it is closed, how many frames its writer task
  still holds (while any, nothing is written directly, so frames stay in
  order), and the callbacks into its Python :class:`Connection`.
- :class:`Poller`: serves every ready descriptor of an epoll set. Each read
  goes into one reused buffer. A channel given ``decoders`` (a component
  connection) has a read made of whole frames decoded here, into the
  caller's batch as ``(conn_id, message)`` pairs; anything else (a partial
  frame, a frame that is bad in any way, a channel without decoders, the end
  of the stream) goes whole to the connection's own reader, which reports
  errors as it always does. All or nothing per read, so a connection's
  messages keep their order.
- :func:`send_heartbeats`: the agent's heartbeat to every component, encoded
  and written in one call.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.errno cimport errno, EAGAIN, EINTR  # EWOULDBLOCK is EAGAIN on Linux
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport strerror, memcpy
from posix.unistd cimport read, write

from hanode.codec import HealthMonitorMessage, HeartBeat, encode_health_monitor_message
from hanode.errors import DecodeError
from hanode.framing import PduType


cdef extern from "sys/epoll.h" nogil:
    ctypedef union epoll_data_t:
        void* ptr
        int fd
        uint32_t u32
        uint64_t u64

    struct epoll_event:
        uint32_t events
        epoll_data_t data

    int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout)


cdef enum:
    READ_SIZE = 65536     # one read: a heartbeat is ~12 octets, a full socket buffer ~200 KiB
    MAX_EVENTS = 1024     # ready descriptors served per wake-up; more wait for the next one
    HEADER = 3            # u16 length + u8 pdu-type (see hanode.framing)
    MAX_FRAME = 65535 + HEADER

cdef char MONITOR = int(PduType.MONITOR)


cdef str _os_error(int code):
    return f"[Errno {code}] {strerror(code).decode(errors='replace')}"


cdef class Channel:
    """One socket connection's descriptor and state, shared with its Connection.

    ``on_data(bytes)`` takes what the fast path does not (``b""``: the other
    side closed); ``on_error(reason)`` closes the connection after a failed
    read or write; ``queue(bytes)`` hands what the kernel did not take to the
    connection's writer task (which counts it in ``backlog``). ``decoders``:
    256 entries indexed by the pdu-type octet, the payload's decode function
    or None (not allowed here); None for a channel that is never decoded here.
    """

    cdef readonly int fd
    cdef readonly object conn_id
    cdef public bint closed
    cdef public Py_ssize_t backlog
    cdef public bint pending
    cdef public Py_ssize_t received
    cdef tuple decoders
    cdef Py_ssize_t max_payload
    cdef object on_data
    cdef object on_error
    cdef object queue

    def __init__(self, int fd, conn_id, on_data, on_error, queue, decoders=None, Py_ssize_t max_payload=0):
        if decoders is not None and len(decoders) != 256:
            raise ValueError(f"Channel: decoders must have 256 entries (one per pdu-type octet), got {len(decoders)}")
        self.fd = fd
        self.conn_id = conn_id
        self.on_data = on_data
        self.on_error = on_error
        self.queue = queue
        self.decoders = tuple(decoders) if decoders is not None else None
        self.max_payload = max_payload
        self.closed = False
        self.backlog = 0
        self.pending = False   # the connection's reader holds part of a frame: it reads the rest
        self.received = 0      # messages decoded here

    def write(self, bytes data):
        """Write ``data`` now if nothing is queued before it; queue the rest."""
        _write(self, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef int _write(Channel ch, const char* p, Py_ssize_t n) except -1:
    cdef Py_ssize_t w = 0
    if ch.closed:
        return 0
    if ch.backlog == 0:
        while True:
            w = write(ch.fd, p, n)
            if w >= 0:
                break
            if errno == EINTR:
                continue
            if errno == EAGAIN:
                w = 0  # the kernel buffer is full: the writer task waits for room
                break
            ch.on_error(f"send failed: {_os_error(errno)}")
            return 0
        if w == n:
            return 0
    ch.queue(PyBytes_FromStringAndSize(p + w, n - w))
    return 0


cdef class Poller:
    """Reads every ready descriptor of the epoll set ``epfd``; ``channels``
    (shared with the caller, who adds and removes them) maps each to its Channel."""

    cdef int epfd
    cdef dict channels
    cdef char* buf

    def __cinit__(self, int epfd, dict channels):
        self.epfd = epfd
        self.channels = channels
        self.buf = <char*>malloc(READ_SIZE)
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.buf)

    def serve(self, list batch):
        """Read every descriptor ready now (without waiting); append the
        messages decoded here to ``batch``. Returns how many were ready."""
        cdef epoll_event events[MAX_EVENTS]
        cdef int n, i
        while True:
            n = epoll_wait(self.epfd, events, MAX_EVENTS, 0)
            if n >= 0:
                break
            if errno != EINTR:
                raise OSError(errno, f"epoll_wait: {_os_error(errno)}")
        for i in range(n):
            ch = self.channels.get(events[i].data.fd)  # an earlier one's callback may have closed it
            if ch is not None:
                self._serve(<Channel>ch, batch)
        return n

    cdef int _serve(self, Channel ch, list batch) except -1:
        cdef Py_ssize_t n, pos = 0, length, stop
        cdef unsigned char* buf = <unsigned char*>self.buf
        cdef list got
        while True:
            n = read(ch.fd, self.buf, READ_SIZE)
            if n >= 0:
                break
            if errno == EINTR:
                continue
            if errno == EAGAIN:
                return 0  # woken with nothing to read after all
            ch.on_error(f"receive failed: {_os_error(errno)}")
            return 0
        if ch.decoders is None or ch.pending or n == 0:
            ch.on_data(PyBytes_FromStringAndSize(self.buf, n))
            return 0
        got = []
        while n - pos >= HEADER:
            length = buf[pos] << 8 | buf[pos + 1]
            decode = ch.decoders[buf[pos + 2]]
            stop = pos + HEADER + length
            if decode is None or length > ch.max_payload or stop > n:
                break
            try:
                msg = decode(PyBytes_FromStringAndSize(self.buf + pos + HEADER, length))
            except DecodeError:
                break
            got.append((ch.conn_id, msg))
            pos = stop
        if pos != n:
            # The connection's reader goes over all of it again: it keeps a
            # partial frame for the next read, and names what is wrong.
            ch.on_data(PyBytes_FromStringAndSize(self.buf, n))
            return 0
        ch.received += len(got)
        batch.extend(got)
        return 0


def send_heartbeats(dict connections, targets, str correlation_id, bill):
    """Send ``HeartBeat(bill)`` with ``correlation_id`` to every ``(conn_id,
    component_id)`` of ``targets`` found in ``connections`` (conn_id ->
    Connection). A connection without a channel (an in-memory stream) gets
    it through ``send``."""
    cdef char frame[MAX_FRAME]
    cdef bytes payload
    cdef Py_ssize_t n
    cdef Channel ch
    beat = HeartBeat(bill)
    for conn_id, component_id in targets:
        conn = connections.get(conn_id)
        if conn is None:
            continue
        msg = HealthMonitorMessage(correlation_id, component_id, beat)
        channel = conn.channel
        if channel is None:
            conn.send(msg)
            continue
        ch = <Channel?>channel
        if ch.closed:
            continue
        payload = encode_health_monitor_message(msg)
        n = PyBytes_GET_SIZE(payload)  # a few octets: ids are at most 16 digits
        frame[0] = <char>(n >> 8)
        frame[1] = <char>(n & 0xFF)
        frame[2] = MONITOR
        memcpy(frame + HEADER, PyBytes_AS_STRING(payload), n)
        _write(ch, frame, n + HEADER)
