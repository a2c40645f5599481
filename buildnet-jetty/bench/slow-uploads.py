#!/usr/bin/env python3
"""Holds N authenticated cache uploads open, each sending one body byte per second.

Usage: slow-uploads.py PORT TOKEN N SECONDS. Prints 'open N' once all have sent their first byte,
then keeps them trickling for SECONDS and exits (closing them). For http-bench.sh.
"""
import socket
import sys
import time

port, token, n, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
body_len = 1_000_000  # never completes within the run
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((f"PUT /cache/slow-{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\nContent-Length: {body_len}\r\n\r\nx").encode())
    socks.append(s)
print(f"open {n}", flush=True)
end = time.monotonic() + seconds
while time.monotonic() < end:
    time.sleep(1)
    for s in socks:
        try:
            s.send(b"x")
        except OSError:
            pass
for s in socks:
    s.close()
