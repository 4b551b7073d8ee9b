"""lmct: a client of lmctld, the lmct container manager, for Python agents.

It speaks lmctld's protocol (docs/protocol.md) with the standard library and
Debian's python3-protobuf; the messages are generated from proto/lmct.proto
when lmct is built (``lmct.lmct_pb2``)::

    import lmct
    with lmct.Client() as c:                      # $LMCT_SOCKET or /run/lmct/lmctld.sock
        c.create("containerA/sub1", cpu=6, parents=True)
        print(c.show("containerA/sub1").effective.cpu_millis)
        r = c.run("containerA/sub1", ["make"])    # with this process's stdio
        print(r.wait().exit_code)
        for ev in c.events("containerA", recursive=True):
            print(ev.kind, ev.name)

Every call raises an ``lmct.Error`` subclass named after the status code
(``NotFound``, ``AlreadyExists``, ...) with lmctld's sentence, or OSError
when the socket fails. A Client is one connection and one call at a time;
``events()`` and ``run()`` open a connection of their own.
"""
import os
import socket

from . import lmct_pb2 as pb

__all__ = ["Client", "Error", "Run", "MAX", "DEFAULT_SOCKET", "pb"]

DEFAULT_SOCKET = "/run/lmct/lmctld.sock"
MAX = 2**64 - 1  # "max": no limit, for every numeric limit that takes it


class Error(Exception):
    """A request lmctld refused: ``code`` (pb.Code) and lmctld's ``message``."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (pb.Code.Name(code), message))
        self.code = code
        self.message = message


def _error_class(name):
    cls = type("".join(p.capitalize() for p in name.split("_")), (Error,), {})
    cls.__doc__ = "lmctld answered %s." % name
    return cls


_errors = {}
for _code in pb.Code.values():
    if _code != pb.OK:
        _cls = _error_class(pb.Code.Name(_code))
        _errors[_code] = _cls
        globals()[_cls.__name__] = _cls
        __all__.append(_cls.__name__)


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


# Keyword arguments accepted as limits, and the Limits field each sets.
_LIMITS = {
    "cpu": "cpu_millis", "cpu_period_us": "cpu_period_us", "cpu_weight": "cpu_weight",
    "cpuset": "cpuset_cpus", "memory": "memory_max", "memory_high": "memory_high",
    "memory_low": "memory_low", "memory_min": "memory_min", "swap": "swap_max",
    "pids": "pids_max", "io_weight": "io_weight", "max_descendants": "max_descendants",
    "max_depth": "max_depth", "cpu_idle": "cpu_idle", "cpu_burst_us": "cpu_burst_us",
    "cpuset_mems": "cpuset_mems", "oom_group": "oom_group",
}


def limits(**kw):
    """A pb.Limits from keywords: cpu (CPUs, 6 or 0.5, or MAX), memory,
    memory_high, memory_low, memory_min, swap (bytes or MAX), pids (or MAX),
    cpu_weight, io_weight, cpu_period_us, cpuset ("0-3,6"), max_descendants,
    max_depth, cpu_idle and oom_group (True or False), cpu_burst_us,
    cpuset_mems ("0-1"). None when none is given."""
    if not kw:
        return None
    unknown = set(kw) - set(_LIMITS)
    if unknown:
        raise TypeError("unknown limit %s" % ", ".join(sorted(unknown)))
    lim = pb.Limits()
    for key, value in kw.items():
        if key == "cpu" and value != MAX:
            value = round(value * 1000)
        setattr(lim, _LIMITS[key], value)
    return lim


def _labels(d):
    return [pb.Label(key=k, value=v) for k, v in sorted((d or {}).items())]


class _Conn:
    """One connection: framing (a varint length, then the message) and ids."""

    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send(self, req, fds=None):
        req.id = self.next_id
        self.next_id += 1
        body = req.SerializeToString()
        frame = _varint(len(body)) + body
        if fds:
            socket.send_fds(self.sock, [frame], fds)
        else:
            self.sock.sendall(frame)
        return req.id

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("lmctld closed the connection")
            self.buf += chunk

    def recv(self):
        length, shift, i = 0, 0, 0
        while True:
            self._fill(i + 1)
            b = self.buf[i]
            length |= (b & 0x7F) << shift
            shift += 7
            i += 1
            if not b & 0x80:
                break
            if i == 10:
                raise ConnectionError("lmctld sent a malformed frame")
        self._fill(i + length)
        resp = pb.Response()
        resp.ParseFromString(self.buf[i:i + length])
        self.buf = self.buf[i + length:]
        return resp


def _check(resp):
    if resp.status.code != pb.OK:
        raise _errors.get(resp.status.code, Error)(resp.status.code, resp.status.message)
    return resp


class Run:
    """A command lmctld started: ``pid`` once it runs; ``wait()`` for how it
    ended (a pb.RunResult); ``signal()`` to signal it. Holds its own
    connection until it ended. A detached command is answered once: it has
    a pid (and a log_path) and nothing to wait for."""

    def __init__(self, conn, rid, started, detached):
        self._conn, self._id = conn, rid
        self.pid = started.pid
        self.started = started
        self.result = started if started.exited else None
        self.detached = detached
        if self.result is not None or detached:
            self._conn.close()

    def wait(self):
        if self.detached:
            raise ValueError("a detached command is not waited for")
        if self.result is None:
            try:
                resp = _check(self._conn.recv())
                self.result = resp.run
            finally:
                self._conn.close()
        return self.result

    def signal(self, sig):
        self._conn.send(pb.Request(signal=pb.SignalRequest(run_id=self._id, signal=sig)))


class Client:
    """A connection to lmctld at PATH ($LMCT_SOCKET, else the default)."""

    def __init__(self, path=None, timeout=30.0):
        self.path = path or os.environ.get("LMCT_SOCKET") or DEFAULT_SOCKET
        self.timeout = timeout
        self._conn = _Conn(self.path, timeout)

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, req):
        """Sends REQ (a pb.Request), returns the pb.Response; raises Error."""
        rid = self._conn.send(req)
        resp = self._conn.recv()
        if resp.id != rid:
            raise ConnectionError("an answer to request %d came for %d" % (resp.id, rid))
        return _check(resp)

    def version(self):
        return self.call(pb.Request(version=pb.VersionRequest())).version

    def create(self, name, parents=False, owner=None, labels=None, **limit):
        """OWNER: a uid, or (uid, gid); LABELS: a dict."""
        q = pb.CreateRequest(name=name, parents=parents, labels=_labels(labels))
        lim = limits(**limit)
        if lim is not None:
            q.limits.CopyFrom(lim)
        if owner is not None:
            q.owner_uid, q.owner_gid = owner if isinstance(owner, tuple) else (owner, owner)
        self.call(pb.Request(create=q))

    def update(self, name, labels=None, remove_labels=(), **limit):
        q = pb.UpdateRequest(name=name, labels=_labels(labels), remove_labels=list(remove_labels))
        lim = limits(**limit)
        if lim is not None:
            q.limits.CopyFrom(lim)
        self.call(pb.Request(update=q))

    def destroy(self, name, recursive=False, force=False):
        self.call(pb.Request(destroy=pb.DestroyRequest(name=name, recursive=recursive, force=force)))

    def list(self, name="", recursive=False, labels=None):
        """Full names, sorted; LABELS selects (a value of None: the key is there)."""
        sel = [pb.Label(key=k) if v is None else pb.Label(key=k, value=v) for k, v in (labels or {}).items()]
        q = pb.ListRequest(name=name, recursive=recursive, selector=sel)
        return list(self.call(pb.Request(list=q)).list.names)

    def show(self, name):
        return self.call(pb.Request(show=pb.ShowRequest(name=name))).show

    def ps(self, name, recursive=False):
        """(pid, container) pairs."""
        res = self.call(pb.Request(ps=pb.PsRequest(name=name, recursive=recursive))).ps
        return [(p.pid, p.container) for p in res.processes]

    def enter(self, name, pids):
        self.call(pb.Request(enter=pb.EnterRequest(name=name, pids=list(pids))))

    def pause(self, name):
        self.call(pb.Request(pause=pb.PauseRequest(name=name)))

    def resume(self, name):
        self.call(pb.Request(resume=pb.ResumeRequest(name=name)))

    def kill(self, name, signal=9):
        self.call(pb.Request(kill=pb.KillRequest(name=name, signal=signal)))

    def reclaim(self, name, size):
        """Asks the kernel to reclaim SIZE bytes of the container's memory
        now; a pb.ReclaimResult: requested, complete (False: the kernel
        found less), memory_before, memory_after."""
        return self.call(pb.Request(reclaim=pb.ReclaimRequest(name=name, bytes=size))).reclaim

    def detect(self, pid):
        return self.call(pb.Request(detect=pb.DetectRequest(pid=pid))).detect.name

    def stats(self, name, recursive=False):
        """pb.Stats of the container, then (RECURSIVE) its subtree in order."""
        return list(self.call(pb.Request(stats=pb.StatsRequest(name=name, recursive=recursive))).stats.stats)

    def events(self, name="", recursive=False, memory_above=None, pressure=(), timeout=None):
        """An iterator of pb.Event, on a connection of its own, until closed
        (``close()`` on the iterator) or lmctld goes. PRESSURE: (resource,
        stall_us, window_us[, full]) tuples. The first event, "subscribed",
        is consumed here: a refusal raises at once. TIMEOUT: seconds to wait
        for each event before TimeoutError (None: for ever)."""
        q = pb.EventsRequest(name=name, recursive=recursive)
        if memory_above is not None:
            q.memory_above = memory_above
        for t in pressure:
            q.pressure.add(resource=t[0], stall_us=t[1], window_us=t[2], full=len(t) > 3 and bool(t[3]))
        conn = _Conn(self.path, self.timeout)
        try:
            rid = conn.send(pb.Request(events=q))
            _check(conn.recv())
            conn.sock.settimeout(timeout)
        except BaseException:
            conn.close()
            raise
        return self._event_stream(conn, rid)

    @staticmethod
    def _event_stream(conn, rid):
        try:
            while True:
                resp = _check(conn.recv())
                if resp.id == rid:
                    yield resp.event
        except ConnectionError:
            return
        finally:
            conn.close()

    def run(self, name, args, stdio=(0, 1, 2), detach=False, remove=False, env=(), cwd=None, **limit):
        """Runs ARGS in container NAME with the descriptors STDIO (unless
        DETACH); returns a Run once the command runs."""
        q = pb.RunRequest(name=name, args=list(args), env=list(env), detach=detach, remove=remove)
        if cwd is not None:
            q.cwd = cwd
        lim = limits(**limit)
        if lim is not None:
            q.limits.CopyFrom(lim)
        return self._start(pb.Request(run=q), None if detach else stdio, detach)

    def exec(self, name, args, stdio=(0, 1, 2), env=(), cwd=None):
        """A further command in the namespaces of NAME's running command."""
        q = pb.ExecRequest(name=name, args=list(args), env=list(env))
        if cwd is not None:
            q.cwd = cwd
        return self._start(pb.Request(exec=q), stdio, False)

    def _start(self, req, stdio, detached):
        conn = _Conn(self.path, None)
        try:
            rid = conn.send(req, list(stdio) if stdio else None)
            started = _check(conn.recv())
        except BaseException:
            conn.close()
            raise
        return Run(conn, rid, started.run, detached)
