"""Starts the real acemq-broker for end-to-end tests and waits on its output, never on sleeps.

Environment (set by CTest, see CMakeLists.txt):
  ACEMQ_BROKER   path of the acemq-broker executable
  ACEMQ_DEV_PKI  path of scripts/dev-pki
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

LISTENING = re.compile(r"^acemq-broker: listening (\S+) \((tcp|tls)\) on (\S+):(\d+)$")
START_TIMEOUT = 30


class Broker:
    """One broker process with its own data directory and development PKI, on free ports."""

    def __init__(self, *overrides, data_dir=None, embedded_defaults=False):
        """With `data_dir`, the broker runs on that existing directory (e.g. to restart on the
        same database) and close() leaves it; otherwise on a new one that close() removes. With
        `embedded_defaults`, only the ports (0) and the threads are set: the listener addresses
        and the anonymous topics are the broker's own defaults."""
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="acemq-e2e-")
        self.pki = os.path.join(self.data_dir, "var", "pki")
        if not os.path.exists(os.path.join(self.pki, "ca.pem")):
            subprocess.run([os.environ["ACEMQ_DEV_PKI"], self.pki], check=True,
                           stdout=subprocess.DEVNULL)
        self.ca = os.path.join(self.pki, "ca.pem")
        command = [
            os.environ["ACEMQ_BROKER"], "--data-dir", self.data_dir,
            "--set", "listener.tcp.port=0", "--set", "listener.tls.port=0",
            "--set", "server.threads=2",
        ]
        if not embedded_defaults:
            command += [
                "--set", "listener.tcp.address=127.0.0.1", "--set", "listener.tls.address=127.0.0.1",
                # These tests are about MQTT, not authentication: anonymous clients get every topic.
                "--set", 'auth.anonymous_topics=["#", "$SYS/#", "$e2e/#"]',
            ]
        for override in overrides:
            command += ["--set", override]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1)
        self.lines = queue.Queue()
        self.output = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ports = {}
        self.addresses = {}
        self.signalled = False
        deadline = time.monotonic() + START_TIMEOUT
        while len(self.ports) < 2:
            line = self._next_line(deadline)
            match = LISTENING.match(line)
            if match:
                self.ports[match.group(1)] = int(match.group(4))
                self.addresses[match.group(1)] = match.group(3)
        self.tcp_port = self.ports["tcp"]
        self.tls_port = self.ports["tls"]

    def _read(self):
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)  # end of output: the process exited

    def _next_line(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("broker output did not show the awaited line:\n" + self.log())
        try:
            line = self.lines.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError("broker output did not show the awaited line:\n" + self.log())
        if line is None:
            raise RuntimeError("broker exited (%s):\n%s" % (self.process.wait(), self.log()))
        return line

    def wait_for_output(self, pattern, timeout=15):
        """Blocks until a line of broker output matches `pattern` (a regular expression)."""
        expression = re.compile(pattern)
        for line in list(self.output):
            if expression.search(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            line = self._next_line(deadline)
            if expression.search(line):
                return line

    def log(self):
        return "\n".join(self.output)

    def send_signal(self, signal_number):
        """Sends a signal; a later stop() then only waits (a second SIGTERM during shutdown
        could arrive after the broker restored the default action and kill it)."""
        self.signalled = True
        self.process.send_signal(signal_number)

    def stop(self, signal_number=signal.SIGTERM, timeout=20):
        """Signals the broker (unless signal() already did) and returns its exit code."""
        if not self.signalled and self.process.poll() is None:
            self.process.send_signal(signal_number)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=5)

    def kill(self):
        """SIGKILL: no shutdown code runs."""
        self.process.kill()
        self.process.wait()
        self._reader.join(timeout=5)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.close()
