#!/usr/bin/python3
"""A cluster agent in Python speaking lmct's protocol directly: no C, no
liblmct. The messages come from Debian's python3-protobuf with code that
protoc (Debian's protobuf-compiler) generates from proto/lmct.proto at test
time; the framing is the standard size-delimited stream (docs/protocol.md).

  agent.py SOCKET PYTHON_OUT_DIR PREFIX

It creates a subtree with limits, subscribes to its events on a second
connection, runs a command there (passing its stdio with SCM_RIGHTS), waits
for the "empty" event carrying the command's exit status, reads stats, and
destroys the subtree. Prints PASS:/FAIL: lines and exits 0 if all passed.
"""
import os
import socket
import sys
import time

sock_path, gen_dir, prefix = sys.argv[1:4]
sys.path.insert(0, gen_dir)
import lmct_pb2 as pb  # noqa: E402  (generated at test time)

failures = 0


def result(ok, what, why=""):
    global failures
    print(("PASS: python-agent: %s" % what) if ok else ("FAIL: python-agent: %s: %s" % (what, why)), flush=True)
    failures += 0 if ok else 1


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)  # a test never waits forever
        self.s.connect(path)
        self.buf = b""
        self.next_id = 1

    def send(self, req, fds=None):
        req.id = self.next_id
        self.next_id += 1
        body = req.SerializeToString()
        frame = varint(len(body)) + body
        if fds:
            socket.send_fds(self.s, [frame], fds)
        else:
            self.s.sendall(frame)
        return req.id

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("lmctld closed the connection")
            self.buf += chunk

    def recv(self):
        # The length prefix: a varint of at most 10 bytes.
        length, shift, i = 0, 0, 0
        while True:
            self._fill(i + 1)
            b = self.buf[i]
            length |= (b & 0x7F) << shift
            shift += 7
            i += 1
            if not b & 0x80:
                break
        self._fill(i + length)
        resp = pb.Response()
        resp.ParseFromString(self.buf[i:i + length])
        self.buf = self.buf[i + length:]
        return resp

    def call(self, req, fds=None):
        rid = self.send(req, fds)
        resp = self.recv()
        assert resp.id == rid, "answer for request %d, expected %d" % (resp.id, rid)
        return resp


def ok(resp):
    return resp.status.code == pb.OK


c = Conn(sock_path)
resp = c.call(pb.Request(version=pb.VersionRequest()))
result(ok(resp) and resp.version.protocol == 1, "version: protocol 1 from %s" % resp.version.daemon)

top = prefix
resp = c.call(pb.Request(create=pb.CreateRequest(name=top, limits=pb.Limits(memory_max=256 << 20, pids_max=100))))
result(ok(resp), "create %s with memory 256M and pids 100" % top, resp.status.message)
resp = c.call(pb.Request(create=pb.CreateRequest(name=top + "/job", limits=pb.Limits(cpu_millis=500),
                                                  labels=[pb.Label(key="job", value="etl-42")])))
result(ok(resp), "create %s/job with half a CPU and a label" % top, resp.status.message)
resp = c.call(pb.Request(list=pb.ListRequest(name=top, recursive=True, selector=[pb.Label(key="job", value="etl-42")])))
result(ok(resp) and list(resp.list.names) == [top + "/job"], "list by label finds it", str(resp.list.names))
resp = c.call(pb.Request(create=pb.CreateRequest(name=top + "/job")))
result(resp.status.code == pb.ALREADY_EXISTS, "a second create gets ALREADY_EXISTS", pb.Code.Name(resp.status.code))
resp = c.call(pb.Request(update=pb.UpdateRequest(name=top + "/job", limits=pb.Limits(pids_max=20))))
result(ok(resp), "update pids to 20", resp.status.message)
resp = c.call(pb.Request(show=pb.ShowRequest(name=top + "/job")))
result(ok(resp) and resp.show.configured.pids_max == 20 and resp.show.effective.memory_max == 256 << 20,
       "show: pids 20 configured, memory 256M in effect from the parent",
       str(resp.show.configured) + str(resp.show.effective))
result([(l.key, l.value) for l in resp.show.labels] == [("job", "etl-42")], "show: the label", str(resp.show.labels))

# A memory threshold and a PSI trigger, accepted on a subscription.
th = Conn(sock_path)
sub = th.call(pb.Request(events=pb.EventsRequest(name=top + "/job", memory_above=1 << 30,
                                                 pressure=[pb.PressureTrigger(resource="io", stall_us=500000,
                                                                              window_us=2000000)])))
result(ok(sub) and sub.event.kind == "subscribed", "events with --memory-above and a PSI trigger: subscribed",
       sub.status.message)
th.s.close()

# Events, on a connection of their own.
ev = Conn(sock_path)
first = ev.call(pb.Request(events=pb.EventsRequest(name=top, recursive=True)))
result(ok(first) and first.event.kind == "subscribed", "events: subscribed to %s" % top, str(first))

# A command with our stdio; it exits 3.
devnull = os.open("/dev/null", os.O_RDWR)
rid = c.send(pb.Request(run=pb.RunRequest(name=top + "/job", args=["sh", "-c", "exit 3"])), [devnull, devnull, devnull])
started = c.recv()
ended = c.recv()
result(ok(started) and started.run.pid > 0 and ended.id == rid and ended.run.exited and ended.run.exit_code == 3,
       "run: started pid %d, exited 3" % started.run.pid, str(ended))

seen = []
ev.s.settimeout(10)
deadline = time.time() + 10
try:
    while time.time() < deadline:
        e = ev.recv().event
        seen.append((e.kind, e.name))
        if e.kind == "empty" and e.name == top + "/job":
            result(e.last_run.exit_code == 3, "the empty event carries the command's exit status 3", str(e))
            break
except (socket.timeout, EOFError) as err:
    result(False, "an empty event for %s/job" % top, "%s; seen %s" % (err, seen))
result(("populated", top + "/job") in seen, "events: populated, then empty", str(seen))

resp = c.call(pb.Request(stats=pb.StatsRequest(name=top, recursive=True)))
names = [s.name for s in resp.stats.stats]
result(ok(resp) and names == [top, top + "/job"], "stats -r lists the subtree", str(names))
job = resp.stats.stats[1] if len(resp.stats.stats) > 1 else pb.Stats()
result(job.usage.cpu_usage_us > 0 and job.effective.memory_max == 256 << 20,
       "stats: the command's CPU time (%d us) and the effective memory limit" % job.usage.cpu_usage_us, str(job.usage))

resp = c.call(pb.Request(destroy=pb.DestroyRequest(name=top, recursive=True)))
result(ok(resp), "destroy -r %s" % top, resp.status.message)
ev.s.settimeout(10)
try:
    e = ev.recv().event
    while e.kind != "destroyed":
        e = ev.recv().event
    result(e.name == top and e.uid == os.getuid(), "events: destroyed, by uid %d" % e.uid, str(e))
except (socket.timeout, EOFError) as err:
    result(False, "a destroyed event", str(err))
resp = c.call(pb.Request(show=pb.ShowRequest(name=top)))
result(resp.status.code == pb.NOT_FOUND, "show after destroy: NOT_FOUND", pb.Code.Name(resp.status.code))
sys.exit(1 if failures else 0)
