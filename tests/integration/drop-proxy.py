#!/usr/bin/env python3
"""A Unix-socket proxy in front of lmctld that loses connections on purpose,
as a daemon that dies mid-request would.

  drop-proxy.py LISTEN UPSTREAM MODE COUNTFILE

MODE:
  close-first   the first connection is closed once its request arrives,
                unanswered and never forwarded; later ones are proxied
  lose-answer   the first connection's request is forwarded, lmctld's answer
                read and thrown away, and the connection closed; later ones
                are proxied
  close-all     every connection is closed once its request arrives

Runs until killed; after each connection, COUNTFILE holds how many it took.
"""
import os
import select
import socket
import sys

listen_path, upstream_path, mode, countfile = sys.argv[1:5]
if os.path.exists(listen_path):
    os.unlink(listen_path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(listen_path)
srv.listen(16)


def proxy(client):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(upstream_path)
    peers = {client: up, up: client}
    while True:
        ready, _, _ = select.select(list(peers), [], [])
        for s in ready:
            data = s.recv(65536)
            if not data:
                up.close()
                return
            peers[s].sendall(data)


n = 0
while True:
    client, _ = srv.accept()
    n += 1
    with open(countfile, "w") as f:
        f.write("%d\n" % n)
    if mode == "close-all" or (mode == "close-first" and n == 1):
        client.recv(65536)
    elif mode == "lose-answer" and n == 1:
        request = client.recv(65536)
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.connect(upstream_path)
        up.sendall(request)
        up.recv(65536)
        up.close()
    else:
        proxy(client)
    client.close()
