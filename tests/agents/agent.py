#!/usr/bin/python3
"""A cluster agent in Python, written as an agent's author would, with the
lmct package (python/lmct, built into BUILD/python): no C, no liblmct.

  PYTHONPATH=BUILD/python agent.py SOCKET PREFIX

It creates a subtree with limits and labels, subscribes to its events,
runs a command there (passing descriptors with SCM_RIGHTS), waits for the
"empty" event carrying the command's exit status, reads stats, sees each
refusal as its own exception, and destroys the subtree. Prints PASS:/FAIL:
lines and exits 0 if all passed.
"""
import os
import sys

import lmct
from lmct import pb

sock_path, top = sys.argv[1:3]
failures = 0


def result(ok, what, why=""):
    global failures
    print(("PASS: python-agent: %s" % what) if ok else ("FAIL: python-agent: %s: %s" % (what, why)), flush=True)
    failures += 0 if ok else 1


def refused(exc_class, what, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc_class as e:
        result(True, "%s: %s" % (what, exc_class.__name__))
        return e
    except Exception as e:  # noqa: BLE001 - the wrong refusal is the finding
        result(False, what, "%s: %s" % (type(e).__name__, e))
    else:
        result(False, what, "accepted")
    return None


c = lmct.Client(sock_path)
v = c.version()
result(v.protocol == 1, "version: protocol 1 from %s" % v.daemon)

c.create(top, memory=256 << 20, pids=100)
result(True, "create %s with memory 256M and pids 100" % top)
c.create(top + "/job", cpu=0.5, labels={"job": "etl-42"})
result(c.list(top, recursive=True, labels={"job": "etl-42"}) == [top + "/job"], "list by label finds it")
e = refused(lmct.AlreadyExists, "a second create", c.create, top + "/job")
result(e is not None and e.code == pb.ALREADY_EXISTS and top + "/job" in e.message,
       "the error carries the code and lmctld's sentence", str(e))
refused(lmct.InvalidArgument, "a name with ..", c.create, top + "/../x")
refused(lmct.NotFound, "show of a missing container", c.show, top + "/nosuch")
refused(TypeError, "an unknown limit keyword", c.create, top + "/x", cpus=2)
c.update(top + "/job", pids=20)
info = c.show(top + "/job")
result(info.configured.pids_max == 20 and info.effective.memory_max == 256 << 20
       and info.configured.cpu_millis == 500,
       "show: pids 20 and half a CPU configured, memory 256M in effect from the parent",
       str(info.configured) + str(info.effective))
result([(lb.key, lb.value) for lb in info.labels] == [("job", "etl-42")], "show: the label", str(info.labels))
c.update(top + "/job", pids=lmct.MAX)
result(c.show(top + "/job").configured.pids_max == lmct.MAX, "update to max removes the limit")

# A memory threshold and a PSI trigger, accepted on a subscription.
th = c.events(top + "/job", memory_above=1 << 30, pressure=[("io", 500000, 2000000)])
result(True, "events with a memory threshold and a PSI trigger: subscribed")
th.close()
refused(lmct.InvalidArgument, "a PSI trigger on an unknown resource", c.events, top, pressure=[("disk", 1, 2)])

# Events, on a connection of their own.
events = c.events(top, recursive=True, timeout=10)
result(True, "events: subscribed to %s" % top)

# A command with descriptors of ours; it exits 3.
devnull = os.open("/dev/null", os.O_RDWR)
run = c.run(top + "/job", ["sh", "-c", "exit 3"], stdio=(devnull, devnull, devnull))
ended = run.wait()
result(run.pid > 0 and ended.exited and ended.exit_code == 3, "run: started pid %d, exited 3" % run.pid, str(ended))
r127 = c.run(top + "/job", ["no-such-command-here"], stdio=(devnull, devnull, devnull)).wait()
result(r127.exit_code == 127 and "no-such-command-here" in r127.error, "a command that is not there: 127, why",
       str(r127))
detached = c.run(top + "/job", ["true"], detach=True)
result(detached.pid > 0 and detached.detached, "run detached: a pid at once")
refused(ValueError, "a detached command is not waited for", detached.wait)

seen = []
try:
    for e in events:
        seen.append((e.kind, e.name))
        if e.kind == "empty" and e.name == top + "/job" and e.last_run.exit_code == 3:
            result(True, "the empty event carries the command's exit status 3")
            break
except TimeoutError as err:
    result(False, "an empty event for %s/job" % top, "%s; seen %s" % (err, seen))
result(("populated", top + "/job") in seen, "events: populated, then empty", str(seen))

stats = c.stats(top, recursive=True)
names = [s.name for s in stats]
result(names == [top, top + "/job"], "stats -r lists the subtree", str(names))
job = stats[1] if len(stats) > 1 else pb.Stats()
result(job.usage.cpu_usage_us > 0 and job.effective.memory_max == 256 << 20,
       "stats: the command's CPU time (%d us) and the effective memory limit" % job.usage.cpu_usage_us, str(job.usage))

r = c.reclaim(top, 1 << 30)
result(r.HasField("memory_after") and r.requested <= r.memory_before and not r.complete,
       "reclaim of 1 GiB: asked for the usage only (%d of %d bytes), not complete" % (r.requested, r.memory_before), str(r))
refused(lmct.InvalidArgument, "reclaim of less than a page", c.reclaim, top, 100)

c.destroy(top, recursive=True, force=True)
result(True, "destroy -r -f %s" % top)
try:
    for e in events:
        if e.kind == "destroyed" and e.name == top:
            result(e.uid == os.getuid(), "events: destroyed, by uid %d" % e.uid, str(e))
            break
except TimeoutError as err:
    result(False, "a destroyed event", str(err))
events.close()
refused(lmct.NotFound, "show after destroy", c.show, top)
c.close()
sys.exit(1 if failures else 0)
