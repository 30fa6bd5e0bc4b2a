#!/usr/bin/python3
"""Smoke test of acemq-bench: a one-second QoS 1 throughput run against a mosquitto started here
on a free port. Asserts only that messages flowed, never a speed."""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mosquitto(program, directory):
    port = free_port()
    config = os.path.join(directory, "mosquitto.conf")
    with open(config, "w") as out:
        out.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                  "log_dest stderr\n")
    broker = subprocess.Popen([program, "-c", config], stderr=subprocess.PIPE, text=True)
    # Wait for the log line that follows binding the listener; readline blocks on the event.
    deadline = time.monotonic() + 10
    for line in broker.stderr:
        if " running" in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        raise RuntimeError("mosquitto exited before it was running")
    return broker, port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--mosquitto", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        broker, port = start_mosquitto(args.mosquitto, directory)
        try:
            run = subprocess.run([args.bench, "--json", "-p", str(port), "-t", "2", "throughput",
                                  "-P", "2", "-S", "2", "-q", "1", "-d", "1"],
                                 capture_output=True, text=True, timeout=90)
        finally:
            broker.terminate()
            broker.wait(timeout=10)
    if run.returncode != 0:
        print(run.stdout, run.stderr, file=sys.stderr)
        return 1
    result = json.loads(run.stdout)
    figures = result["figures"]
    print(json.dumps(result, indent=1))
    if figures["received"] <= 0 or figures["published"] <= 0:
        print("no messages flowed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
