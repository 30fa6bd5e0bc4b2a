"""End-to-end: the acemq-broker process itself: signals, TLS policy, connect timeout,
configuration errors and --help."""

import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from mqtt_clients import (TIMEOUT, connect_packet, raw_socket, read_packet,  # noqa: E402
                          read_until_closed)

BROKER = os.environ.get("ACEMQ_BROKER", "")


def run_broker(*arguments, cwd=None):
    return subprocess.run([BROKER] + list(arguments), capture_output=True, text=True,
                          timeout=TIMEOUT * 3, cwd=cwd)


class signals(unittest.TestCase):
    def test_sigterm_disconnects_v5_clients_with_0x8b_and_exits_0(self):
        with Broker() as broker:
            v5 = raw_socket(broker.tcp_port)
            v5.sendall(connect_packet("stays-connected-v5"))
            self.assertEqual(read_packet(v5)[0], 0x20)
            v311 = raw_socket(broker.tcp_port)
            v311.sendall(connect_packet("stays-connected-v311", protocol_level=4))
            self.assertEqual(read_packet(v311)[0], 0x20)
            broker.send_signal(signal.SIGTERM)
            packets = read_until_closed(v5)
            self.assertEqual(len(packets), 1)
            self.assertEqual((packets[0][0], packets[0][1][0]), (0xE0, 0x8B))  # shutting down
            self.assertEqual(read_until_closed(v311), [])  # 3.1.1 has no server DISCONNECT
            self.assertEqual(broker.stop(), 0)

    def test_sighup_is_logged_and_the_broker_keeps_running(self):
        with Broker() as broker:
            broker.process.send_signal(signal.SIGHUP)  # not a stop: use the raw send
            broker.wait_for_output("SIGHUP received")
            connection = raw_socket(broker.tcp_port)
            connection.sendall(connect_packet("after-sighup"))
            self.assertEqual(read_packet(connection)[0], 0x20)
            self.assertEqual(broker.stop(signal.SIGINT), 0)


class transport_policy(unittest.TestCase):
    def test_connect_timeout_closes_a_silent_socket(self):
        with Broker("broker.connect_timeout=1") as broker:
            connection = raw_socket(broker.tcp_port)
            started = time.monotonic()
            self.assertEqual(read_until_closed(connection), [])
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            self.assertEqual(broker.stop(), 0)

    def test_tls12_without_extended_master_secret_is_refused(self):
        with Broker() as broker:
            probe = subprocess.run(
                [os.environ["ACEMQ_TLS12_NO_EMS_CLIENT"], str(broker.tls_port), broker.ca],
                capture_output=True, text=True, timeout=TIMEOUT * 2)
            self.assertEqual(probe.returncode, 0, probe.stdout + probe.stderr)
            self.assertIn("TLSv1.2", probe.stdout)
            broker.wait_for_output("Extended Master Secret")
            self.assertEqual(broker.stop(), 0)

    def test_tls12_with_extended_master_secret_is_accepted(self):
        with Broker() as broker:
            context = ssl.create_default_context(cafile=broker.ca)
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            with raw_socket(broker.tls_port) as plain:
                with context.wrap_socket(plain, server_hostname="localhost") as secure:
                    self.assertEqual(secure.version(), "TLSv1.2")
                    secure.sendall(connect_packet("tls12-with-ems"))
                    connack = read_packet(secure)
                    self.assertEqual((connack[0], connack[1][1]), (0x20, 0x00))
            self.assertEqual(broker.stop(), 0)


class configuration(unittest.TestCase):
    def test_help_lists_every_setting_with_its_default(self):
        result = run_broker("--help")
        self.assertEqual(result.returncode, 0)
        for line in ("broker.maximum_packet_size = 1048576", "broker.connect_timeout = 10",
                     "auth.allow_anonymous = true", "listener.<name>.client_certificates",
                     "server.threads = 0", "log.level = \"info\""):
            self.assertIn(line, result.stdout)

    def test_bad_file_exits_2_naming_file_line_and_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
            file.write("[broker]\nreceive_maximum = 10\nmaximum_qos = 7\n")
        try:
            result = run_broker("--config", file.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn("%s:3: broker.maximum_qos: must be between 0 and 2" % file.name,
                          result.stderr)
        finally:
            os.unlink(file.name)

    def test_syntax_error_exits_2(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
            file.write("[broker\n")
        try:
            result = run_broker("--config", file.name)
            self.assertEqual(result.returncode, 2)
            self.assertIn(file.name + ":1:", result.stderr)
        finally:
            os.unlink(file.name)

    def test_bad_override_exits_2(self):
        result = run_broker("--set", "broker.no_such_bound=1")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--set broker.no_such_bound: unknown setting", result.stderr)
        result = run_broker("--set", "listener.tcp.port=eighty")
        self.assertEqual(result.returncode, 2)

    def test_missing_certificates_explain_how_to_make_them(self):
        with tempfile.TemporaryDirectory() as empty:
            result = run_broker("--set", "listener.tcp.port=0", "--set", "listener.tls.port=0",
                                cwd=empty)
            self.assertEqual(result.returncode, 1)
            self.assertIn("listener tls", result.stderr)
            self.assertIn("scripts/dev-pki", result.stderr)


if __name__ == "__main__":
    unittest.main()
