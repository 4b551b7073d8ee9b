#!/usr/bin/python3
"""Times a scrape of lmctld's /metrics against the floor: reading the same
cgroup files directly, in this process, with the same loop structure.

  bench-metrics.py PORT CGROUP-ROOT [RUNS [SOCKET]]

Prints the median of RUNS (default 20) for each, and the ratio. With
lmctld's SOCKET, also how long lmctld takes to answer a version request
while scrapes run back to back, against the same when idle: the scrape's
files are read off lmctld's loop, so its other clients should not wait.
A benchmark, not a test: it prints figures."""
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request

port, root = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
FILES = ["cpu.stat", "memory.current", "memory.stat", "memory.events", "pids.current", "memory.max", "cpu.max",
         "cpu.pressure", "memory.pressure", "io.pressure", "io.stat"]
# Per huge page size, as lmctld reads them: current, events, max.
for e in sorted(os.listdir("/sys/kernel/mm/hugepages")) if os.path.isdir("/sys/kernel/mm/hugepages") else []:
    kb = int(e[len("hugepages-"):-len("kB")])
    size = "%dGB" % (kb >> 20) if kb >= 1 << 20 else "%dMB" % (kb >> 10) if kb >= 1 << 10 else "%dKB" % kb
    FILES += ["hugetlb.%s.current" % size, "hugetlb.%s.events" % size, "hugetlb.%s.max" % size]

dirs = []
for top, subdirs, _ in os.walk(root):
    subdirs[:] = [d for d in subdirs if not d.startswith("_")]
    if top != root:
        dirs.append(top)


def scrape():
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=60) as r:
        return len(r.read())


def direct():
    n = 0
    for d in dirs:
        for f in FILES:
            try:
                with open(os.path.join(d, f), "rb", buffering=0) as fh:
                    n += len(fh.read(65536))
            except OSError:
                pass
    return n


def median_ms(fn):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


size = scrape()
m_scrape = median_ms(scrape)
m_direct = median_ms(direct)
print("metrics: %d containers, %d bytes of /metrics" % (len(dirs), size))
print("metrics: scrape median %.1f ms (target < 100 ms for 1,000); reading the same files directly %.1f ms; "
      "ratio %.2fx" % (m_scrape, m_direct, m_scrape / m_direct if m_direct else 0))


def version_rtts(path, n):
    """Round trips of a raw version request (Request{id=1, version={}})."""
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sk.connect(path)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        sk.sendall(bytes([4, 0x08, 0x01, 0x52, 0x00]))
        buf = b""
        while True:
            buf += sk.recv(4096)
            ln, shift, i = 0, 0, 0
            while i < len(buf):
                ln |= (buf[i] & 0x7F) << shift
                shift += 7
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            if i and len(buf) >= i + ln:
                break
        out.append((time.perf_counter() - t) * 1e3)
        time.sleep(0.002)
    sk.close()
    return out


if len(sys.argv) > 4:
    sock = sys.argv[4]
    idle = version_rtts(sock, 200)
    stop = threading.Event()

    def scraper():
        while not stop.is_set():
            scrape()
    th = threading.Thread(target=scraper)
    th.start()
    time.sleep(0.2)
    busy = version_rtts(sock, 200)
    stop.set()
    th.join()
    print("metrics: a version request while scrapes run back to back: median %.2f ms, max %.1f ms "
          "(idle: median %.2f ms, max %.1f ms)" % (statistics.median(busy), max(busy), statistics.median(idle),
                                                   max(idle)))
