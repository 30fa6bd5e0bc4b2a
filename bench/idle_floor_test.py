#!/usr/bin/python3
"""Test of acemq-idle-floor, both engines: mosquitto_pub (MQTT 3.1.1 and 5) completes a publish
against it, a raw socket gets the CONNACK of its protocol version and a PINGRESP (also for a
Remaining Length in four bytes, the most allowed), a malformed Remaining Length (five bytes) and
a DISCONNECT close the connection, acemq-bench idle-memory opens all its
connections, and SIGTERM ends it with status 0. Asserts no figure of memory."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def start(program, engine, directory):
    port_file = os.path.join(directory, f"{engine}.port")
    process = subprocess.Popen([program, "--engine", engine, "--threads", "2", "--port", "0",
                                "--port-file", port_file], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"acemq-idle-floor --engine {engine} did not start")
        time.sleep(0.02)
    with open(port_file) as f:
        kind, port = f.read().split()
    assert kind == "tcp", kind
    return process, int(port)


def connect_packet(level, client_id=b"floor-test"):
    variable = b"\x00\x04MQTT" + bytes([level]) + b"\x02\x00\x3c"
    if level == 5:
        variable += b"\x00"  # no properties
    body = variable + len(client_id).to_bytes(2, "big") + client_id
    return bytes([0x10, len(body)]) + body


def receive(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def closed(sock):
    sock.settimeout(5)
    try:
        return sock.recv(16) == b""
    except ConnectionResetError:
        return True


def check_engine(args, engine, directory):
    process, port = start(args.floor, engine, directory)
    try:
        for version in ("mqttv311", "mqttv5"):
            subprocess.run([args.mosquitto_pub, "-h", "127.0.0.1", "-p", str(port), "-V",
                            version, "-t", "floor/test", "-m", "x", "-q", "0"], check=True,
                           timeout=20)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            # The CONNECT in two writes (two reads at the server unless the kernel merges them),
            # the PINGREQ in the same write as its end.
            packet = connect_packet(5)
            sock.sendall(packet[:5])
            time.sleep(0.05)
            sock.sendall(packet[5:] + b"\xc0\x00")
            assert receive(sock, 7) == b"\x20\x03\x00\x00\x00\xd0\x00", engine
            sock.sendall(b"\xe0\x00")  # DISCONNECT
            assert closed(sock), f"{engine}: open after DISCONNECT"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(connect_packet(4))
            assert receive(sock, 4) == b"\x20\x02\x00\x00", engine
            # The bound: a Remaining Length in four bytes (the most MQTT allows) is followed,
            # here a PINGREQ whose length 0 takes all four.
            sock.sendall(b"\xc0\x80\x80\x80\x00")
            assert receive(sock, 2) == b"\xd0\x00", f"{engine}: four length bytes"
            sock.sendall(b"\x30\xff\xff\xff\xff\x01")  # five length bytes: malformed
            assert closed(sock), f"{engine}: open after a malformed Remaining Length"
        run = subprocess.run([args.bench, "--json", "-p", str(port), "idle-memory", "-n", "50",
                              "--broker-pid", str(process.pid), "--settle", "0.1"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        figures = json.loads(run.stdout)["figures"]
        assert figures["connected"] == 50 and figures["failed"] == 0, figures
        assert "bytes_per_connection" in figures, figures
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)
    assert status == 0, f"{engine}: exit status {status} after SIGTERM"
    print(f"{engine}: ok")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--floor", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--mosquitto-pub", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="acemq-idle-floor-") as directory:
        for engine in ("asio", "epoll"):
            check_engine(args, engine, directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
