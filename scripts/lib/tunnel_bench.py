#!/usr/bin/env python3
"""Native SSM tunnel figures for scripts/bench, measured through the real `rds-explorer tunnel`
against the sandbox's fake Session Manager (loopback only):

  - throughput towards the client (the direction query results take) of a direct loopback
    connection and of the tunnel with the fake agent unpaced (1 KiB messages, as the agent sends);
  - round-trip time of 64-byte ping-pongs, direct and through the tunnel;
  - throughput with the agent's pacing on (1 ms after each 1 KiB message: the real agent's cap).

Usage: tunnel_bench.py BIN SANDBOX_JSON. Prints one `name=value` line per figure.
"""

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

BLOCK = bytes(range(256)) * 4096  # 1 MiB


def recv_exact(conn, n):
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def serve(conn):
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = recv_exact(conn, 1)
        if mode == b"S":  # send N bytes, then close
            left = int.from_bytes(recv_exact(conn, 8), "big")
            view = memoryview(BLOCK)
            while left > 0:
                n = min(left, len(BLOCK))
                conn.sendall(view[:n])
                left -= n
        elif mode == b"E":  # echo until EOF
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)


def start_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)

    def accept_loop():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return server.getsockname()[1]


def pull_mb_per_sec(port, total):
    with socket.create_connection(("127.0.0.1", port)) as conn:
        buffer = bytearray(1 << 20)
        started = time.perf_counter()
        conn.sendall(b"S" + total.to_bytes(8, "big"))
        received = 0
        while received < total:
            n = conn.recv_into(buffer)
            if n == 0:
                raise EOFError(f"got {received} of {total} bytes")
            received += n
        return total / 1e6 / (time.perf_counter() - started)


def round_trip_ms(port, rounds=2000, size=64):
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(b"E")
        payload = b"x" * size
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            conn.sendall(payload)
            recv_exact(conn, size)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.99)]


def set_faults(endpoint_url, faults):
    request = urllib.request.Request(
        endpoint_url + "/sandbox/ssm-faults",
        data=json.dumps(faults).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


class Tunnel:
    """`rds-explorer tunnel` to the byte server, until closed."""

    def __init__(self, binary, target, region, port):
        self.process = subprocess.Popen(
            [binary, "tunnel", "--target", target, "--host", "127.0.0.1",
             "--port", str(port), "--region", region],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix):
            self.process.kill()
            raise RuntimeError(f"tunnel did not start: {line!r}")
        self.port = int(line[len(prefix):])

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def main():
    binary, sandbox = sys.argv[1], json.loads(sys.argv[2])
    aws = sandbox["aws"]
    target = next(i["instance_id"] for i in aws["seeded"]["ec2_instances"]
                  if i["ssm_agent"] == "online")
    port = start_server()

    pull_mb_per_sec(port, 64 << 20)  # warm up
    direct = max(pull_mb_per_sec(port, 256 << 20) for _ in range(3))
    direct_rtt = round_trip_ms(port)

    set_faults(aws["endpoint_url"], {})
    tunnel = Tunnel(binary, target, aws["region"], port)
    try:
        pull_mb_per_sec(tunnel.port, 16 << 20)  # warm up
        native = max(pull_mb_per_sec(tunnel.port, 128 << 20) for _ in range(3))
        native_rtt = round_trip_ms(tunnel.port)
    finally:
        tunnel.close()

    set_faults(aws["endpoint_url"], {"paced": True})
    tunnel = Tunnel(binary, target, aws["region"], port)
    try:
        paced = pull_mb_per_sec(tunnel.port, 8 << 20)
    finally:
        tunnel.close()
    set_faults(aws["endpoint_url"], {})

    print(f"direct_mb_per_sec={direct:.1f}")
    print(f"native_mb_per_sec={native:.1f}")
    print(f"direct_rtt_ms={direct_rtt[0]:.3f} {direct_rtt[1]:.3f}")
    print(f"native_rtt_ms={native_rtt[0]:.3f} {native_rtt[1]:.3f}")
    # The pacing limit: 1 KiB per millisecond.
    print(f"paced_mb_per_sec={paced:.3f}")
    print(f"pace_limit_mb_per_sec={1024 * 1000 / 1e6:.3f}")


if __name__ == "__main__":
    main()
