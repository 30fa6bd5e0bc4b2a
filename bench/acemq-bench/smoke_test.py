#!/usr/bin/python3
"""Smoke test of acemq-bench: a one-second QoS 1 throughput run and a short connection-rate run
with a user name and password (a mosquitto password file made by mosquitto_passwd -b) against a
mosquitto started here on a free port; bench/compare --list must describe every scenario, and
the scenarios it runs against nats-server in MQTT 3.1.1.
Asserts only that messages flowed and connections succeeded, never a speed."""

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mosquitto(program, directory, password_file=None):
    port = free_port()
    config = os.path.join(directory, "mosquitto.conf")
    with open(config, "w") as out:
        out.write(f"listener {port} 127.0.0.1\npersistence false\nlog_dest stderr\n")
        if password_file:
            out.write(f"allow_anonymous false\npassword_file {password_file}\n")
            if os.geteuid() == 0:
                out.write("user root\n")  # else it drops privileges and cannot read the file
        else:
            out.write("allow_anonymous true\n")
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


def run_json(command):
    run = subprocess.run(command, capture_output=True, text=True, timeout=90)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    result = json.loads(run.stdout)
    print(json.dumps(result, indent=1))
    return result["figures"]


def throughput(args, directory):
    broker, port = start_mosquitto(args.mosquitto, directory)
    try:
        figures = run_json([args.bench, "--json", "-p", str(port), "-t", "2", "throughput",
                            "-P", "2", "-S", "2", "-q", "1", "-d", "1"])
    finally:
        broker.terminate()
        broker.wait(timeout=10)
    if figures["received"] <= 0 or figures["published"] <= 0:
        raise RuntimeError("no messages flowed")


def password_connect_rate(args, directory, mosquitto_passwd):
    password = secrets.token_urlsafe(16)
    password_file = os.path.join(directory, "mosquitto.passwd")
    subprocess.run([mosquitto_passwd, "-b", "-c", password_file, "bench", password], check=True,
                   timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secret_file = os.path.join(directory, "bench.secret")
    with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as out:
        out.write(password + "\n")
    broker, port = start_mosquitto(args.mosquitto, directory, password_file)
    try:
        figures = run_json([args.bench, "--json", "-p", str(port), "-t", "2", "-u", "bench",
                            "--password-file", secret_file, "connect-rate", "-n", "20", "-c", "4"])
        # A wrong password must fail: the figure above is then known to include authentication.
        with open(secret_file, "w") as out:
            out.write("not-" + password + "\n")
        refused = run_json([args.bench, "--json", "-p", str(port), "-t", "2", "-u", "bench",
                            "--password-file", secret_file, "connect-rate", "-n", "2", "-c", "1"])
    finally:
        broker.terminate()
        broker.wait(timeout=10)
    if figures["connected"] != 20 or figures["failed"] != 0:
        raise RuntimeError("connections with the right password failed")
    if refused["connected"] != 0 or refused["failed"] != 2:
        raise RuntimeError("connections with a wrong password were not refused")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--mosquitto", required=True)
    parser.add_argument("--compare", help="bench/compare: its --list must succeed")
    args = parser.parse_args()
    mosquitto_passwd = shutil.which("mosquitto_passwd")
    try:
        with tempfile.TemporaryDirectory() as directory:
            throughput(args, directory)
            if mosquitto_passwd:
                password_connect_rate(args, directory, mosquitto_passwd)
            else:
                print("mosquitto_passwd not found: password connection rate not smoked")
        if args.compare:
            listing = subprocess.run([sys.executable, args.compare, "--list"], capture_output=True,
                                     text=True, timeout=60)
            print(listing.stdout, listing.stderr)
            if listing.returncode != 0 or "connect-rate-ace" not in listing.stdout:
                raise RuntimeError("bench/compare --list failed")
            # nats-server speaks MQTT 3.1.1 only: the scenarios it runs drive every broker so.
            nats = [line for line in listing.stdout.splitlines() if "+nats" in line]
            if not nats or any("-V 3.1.1" not in line for line in nats):
                raise RuntimeError("bench/compare --list: no nats scenario, or one not in "
                                   "MQTT 3.1.1")
    except (RuntimeError, subprocess.SubprocessError, OSError, ValueError, KeyError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
