"""End-to-end operations: MQTT over WebSocket and secure WebSocket with MQTT.js, /metrics
scraped with curl and checked against the traffic sent, a certificate swapped under a live
connection with SIGHUP and TLS 1.3 session resumption (checked with openssl s_client), and the
overload limits (connection rates, publish rate, queued-memory ceiling, slow consumer) driven past
their bound while another client stays responsive. Waits on events, never on sleeps."""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

import paho.mqtt.client as paho

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 15


def port_of(broker, name):
    line = broker.wait_for_output(r"^acemq-broker: listening %s \(\w+\) on " % re.escape(name))
    return int(line.rsplit(":", 1)[1])


def scrape(port):
    result = subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/metrics" % port],
                            capture_output=True, text=True, timeout=TIMEOUT, check=True)
    values = {}
    for line in result.stdout.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def served_serial(port, ca):
    """The serial number of the certificate a new TLS connection receives (openssl s_client)."""
    hello = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", ca,
         "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=TIMEOUT)
    certificate = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                            hello.stdout, re.S)
    assert certificate, hello.stdout + hello.stderr
    serial = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=certificate.group(0),
                            capture_output=True, text=True, timeout=TIMEOUT, check=True)
    return serial.stdout.strip()


def s_client_session(port, ca, session_file, resume, *options):
    """One openssl s_client handshake that writes its session (with the ticket the broker sent)
    to session_file, or offers it when resume is set; "Reused" or "New" from its summary."""
    command = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", ca,
               "-verify_return_error", *options]
    command += ["-sess_in", session_file] if resume else ["-sess_out", session_file]
    # -ign_eof: read until the broker closes, so its post-handshake ticket is in the session
    # written; what is sent is an MQTT DISCONNECT before any CONNECT, so the broker closes.
    hello = subprocess.run(command + ([] if resume else ["-ign_eof"]), input=b"\xe0\x00",
                           capture_output=True, timeout=TIMEOUT)
    output = hello.stdout.decode(errors="replace")
    summary = re.search(r"^(Reused|New), (TLSv[\d.]+)", output, re.M)
    assert summary, output + hello.stderr.decode(errors="replace")
    return summary.group(1), summary.group(2)


class client:
    """A paho MQTT 5 client whose events are waited on with threading.Event."""

    def __init__(self, port, name, ca=None):
        self.messages = []
        self.arrived = threading.Condition()
        self.connected = threading.Event()
        self.mqtt = paho.Client(client_id=name, protocol=paho.MQTTv5)
        if ca:
            self.mqtt.tls_set(ca_certs=ca, cert_reqs=ssl.CERT_REQUIRED)
        self.mqtt.on_connect = lambda *unused: self.connected.set()
        self.mqtt.on_message = self._on_message
        self.mqtt.connect("127.0.0.1", port)
        self.mqtt.loop_start()
        assert self.connected.wait(TIMEOUT), "no CONNACK"

    def _on_message(self, unused_client, unused_data, message):
        with self.arrived:
            self.messages.append(message.payload)
            self.arrived.notify_all()

    def wait_messages(self, count):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, TIMEOUT), \
                "%d of %d messages" % (len(self.messages), count)

    def subscribe(self, topic, qos=1):
        done = threading.Event()
        self.mqtt.on_subscribe = lambda *unused: done.set()
        self.mqtt.subscribe(topic, qos)
        assert done.wait(TIMEOUT), "no SUBACK"

    def publish(self, topic, payload, qos=1):
        self.mqtt.publish(topic, payload, qos).wait_for_publish(TIMEOUT)

    def close(self):
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def operations_broker(*extra):
    return Broker(
        "listener.ws.type=ws", "listener.ws.address=127.0.0.1", "listener.ws.port=0",
        "listener.wss.type=wss", "listener.wss.address=127.0.0.1", "listener.wss.port=0",
        "listener.wss.certificate=var/pki/server.pem", "listener.wss.key=var/pki/server.key",
        "listener.metrics.type=http", "listener.metrics.address=127.0.0.1",
        "listener.metrics.port=0", *extra)


class operations(unittest.TestCase):
    def test_mqttjs_over_websocket_and_secure_websocket(self):
        node = os.environ.get("ACEMQ_NODE")
        if not node:
            self.skipTest("node is not installed")
        with operations_broker() as broker:
            environment = dict(
                os.environ,
                ACEMQ_WS_URL="ws://127.0.0.1:%d/mqtt" % port_of(broker, "ws"),
                ACEMQ_WSS_URL="wss://127.0.0.1:%d/mqtt" % port_of(broker, "wss"),
                ACEMQ_CA=broker.ca)
            result = subprocess.run([node, os.path.join(HERE, "websocket_test.mjs")],
                                    capture_output=True, text=True, timeout=180, env=environment)
            print(result.stdout)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr + broker.log())
            self.assertEqual(broker.stop(), 0)

    def test_metrics_count_the_traffic_sent(self):
        with operations_broker() as broker:
            metrics_port = port_of(broker, "metrics")
            before = scrape(metrics_port)
            subscriber = client(broker.tcp_port, "metrics-subscriber")
            subscriber.subscribe("metrics/#")
            publisher = client(broker.tcp_port, "metrics-publisher")
            count, size = 25, 100
            for index in range(count):
                publisher.publish("metrics/%d" % index, b"x" * size)
            subscriber.wait_messages(count)
            after = scrape(metrics_port)
            self.assertEqual(after["acemq_messages_received_total"]
                             - before["acemq_messages_received_total"], count)
            self.assertEqual(after["acemq_bytes_received_total"]
                             - before["acemq_bytes_received_total"], count * size)
            self.assertEqual(after["acemq_messages_sent_total"]
                             - before["acemq_messages_sent_total"], count)
            self.assertEqual(after["acemq_connections"], 2)
            self.assertEqual(after["acemq_subscriptions"], 1)
            self.assertEqual(after['acemq_auth_successes_total{provider="anonymous"}'], 2)
            self.assertGreaterEqual(
                after['acemq_publish_write_latency_seconds_bucket{le="+Inf"}'], count)
            publisher.close()
            subscriber.close()
            self.assertEqual(broker.stop(), 0)

    def test_sighup_swaps_the_certificate_under_a_live_connection(self):
        with operations_broker() as broker:
            live = client(broker.tls_port, "reload-live", ca=broker.ca)
            live.subscribe("reload/#")
            before = served_serial(broker.tls_port, broker.ca)
            # A new server certificate from the same CA: scripts/dev-pki keeps the files that
            # exist, so with only the CA copied into a scratch directory it issues a new server
            # certificate there.
            scratch = os.path.join(broker.data_dir, "renewed")
            os.makedirs(scratch)
            for name in ("ca.pem", "ca.key"):
                shutil.copy(os.path.join(broker.pki, name), scratch)
            subprocess.run([os.environ["ACEMQ_DEV_PKI"], scratch], check=True,
                           stdout=subprocess.DEVNULL)
            for name in ("server.pem", "server.key"):
                os.replace(os.path.join(scratch, name), os.path.join(broker.pki, name))
            broker.process.send_signal(signal.SIGHUP)
            broker.wait_for_output(r"reload finished: 0 problem")
            after = served_serial(broker.tls_port, broker.ca)
            self.assertNotEqual(before, after)
            # The connection made before the reload is still up and served.
            live.publish("reload/after", b"still here")
            live.wait_messages(1)
            self.assertEqual(live.messages[0], b"still here")
            live.close()
            self.assertEqual(broker.stop(), 0)

    def test_tls13_sessions_resume_and_tls12_sessions_do_not(self):
        with operations_broker("listener.short.type=tls", "listener.short.address=127.0.0.1",
                               "listener.short.port=0",
                               "listener.short.certificate=var/pki/server.pem",
                               "listener.short.key=var/pki/server.key",
                               "listener.short.session_ticket_lifetime=0") as broker:
            ticket = os.path.join(broker.data_dir, "session.pem")
            self.assertEqual(s_client_session(broker.tls_port, broker.ca, ticket, False,
                                              "-tls1_3"), ("New", "TLSv1.3"))
            self.assertEqual(s_client_session(broker.tls_port, broker.ca, ticket, True,
                                              "-tls1_3"), ("Reused", "TLSv1.3"))
            # TLS 1.2: a resumed session would repeat the exporter values of the first one.
            self.assertEqual(s_client_session(broker.tls_port, broker.ca, ticket, False,
                                              "-tls1_2"), ("New", "TLSv1.2"))
            self.assertEqual(s_client_session(broker.tls_port, broker.ca, ticket, True,
                                              "-tls1_2"), ("New", "TLSv1.2"))
            # session_ticket_lifetime = 0: no ticket, every handshake is a full one.
            short = port_of(broker, "short")
            self.assertEqual(s_client_session(short, broker.ca, ticket, False, "-tls1_3"),
                             ("New", "TLSv1.3"))
            self.assertEqual(s_client_session(short, broker.ca, ticket, True, "-tls1_3"),
                             ("New", "TLSv1.3"))
            self.assertEqual(broker.stop(), 0)

    def test_connection_rates_refuse_at_accept_and_others_stay_responsive(self):
        with operations_broker(
                "listener.limited.address=127.0.0.1", "listener.limited.port=0",
                "listener.limited.address_connection_rate=0.001",
                "listener.limited.address_connection_burst=2") as broker:
            limited = port_of(broker, "limited")
            admitted = [client(limited, "limited-%d" % index) for index in range(2)]
            refused = paho.Client(client_id="limited-refused", protocol=paho.MQTTv5)
            with self.assertRaises((ConnectionError, OSError)):
                refused.connect("127.0.0.1", limited)
                # The socket is closed at accept: the CONNECT write or the CONNACK read fails.
                for unused in range(50):
                    if refused.loop(timeout=0.2) != paho.MQTT_ERR_SUCCESS:
                        raise ConnectionError("closed by the broker")
                self.fail("the connection over the rate was not closed")
            # Another listener and the admitted connections stay responsive.
            other = client(broker.tcp_port, "unlimited")
            other.subscribe("rate/#")
            admitted[0].publish("rate/ok", b"served")
            other.wait_messages(1)
            metrics = scrape(port_of(broker, "metrics"))
            self.assertEqual(metrics['acemq_net_refused_total{reason="address_rate"}'], 1)
            for each in admitted + [other]:
                each.close()
            self.assertEqual(broker.stop(), 0)

    def test_publish_rate_limit_reads_slowly_and_loses_nothing(self):
        rate, count = 20, 60
        with operations_broker("broker.max_publish_rate=%d" % rate) as broker:
            metrics_port = port_of(broker, "metrics")
            subscriber = client(broker.tcp_port, "rate-subscriber")
            subscriber.subscribe("rate/#")
            publisher = client(broker.tcp_port, "rate-publisher")
            started = time.monotonic()
            sent = [publisher.mqtt.publish("rate/limited", b"%d" % index, 1)
                    for index in range(count)]
            # While the limited client is read slowly, another one is served at once.
            other = client(broker.tcp_port, "rate-other")
            other.publish("rate/other", b"prompt")
            with subscriber.arrived:
                self.assertTrue(subscriber.arrived.wait_for(
                    lambda: b"prompt" in subscriber.messages, TIMEOUT))
            for each in sent:
                each.wait_for_publish(TIMEOUT)
            elapsed = time.monotonic() - started
            subscriber.wait_messages(count + 1)
            # Nothing refused: every message arrived. A bucket of one second's worth means the
            # last one cannot be acknowledged before (count - rate) / rate seconds.
            self.assertEqual(sorted(m for m in subscriber.messages if m != b"prompt"),
                             sorted(b"%d" % index for index in range(count)))
            self.assertGreaterEqual(elapsed, (count - rate) / rate * 0.9)
            metrics = scrape(metrics_port)
            self.assertGreater(metrics["acemq_publish_rate_limited_total"], 0)
            for each in (subscriber, publisher, other):
                each.close()
            self.assertEqual(broker.stop(), 0)

    def test_memory_ceiling_and_slow_consumer(self):
        ceiling = 256 * 1024
        with operations_broker("broker.max_queued_memory=%d" % ceiling,
                               "server.write_high_water=16384",
                               "server.slow_consumer_timeout=1") as broker:
            metrics_port = port_of(broker, "metrics")
            # A subscriber that never reads, with a small receive buffer.
            stalled = socket.socket()
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.connect(("127.0.0.1", broker.tcp_port))
            # MQTT 3.1.1 CONNECT (client "stalled", keep alive 60) and SUBSCRIBE flood/# at QoS 0.
            stalled.sendall(b"\x10\x13\x00\x04MQTT\x04\x02\x00\x3c\x00\x07stalled")
            stalled.sendall(b"\x82\x0c\x00\x01\x00\x07flood/#\x00")
            self.assertEqual(stalled.recv(4), b"\x20\x02\x00\x00")
            stalled.settimeout(TIMEOUT)
            publisher = client(broker.tcp_port, "flood-publisher")
            watcher = client(broker.tcp_port, "flood-watcher")
            watcher.subscribe("other/#")
            payload = b"x" * 1024
            peak = 0
            deadline = time.monotonic() + 4 * TIMEOUT
            metrics = scrape(metrics_port)
            while metrics["acemq_net_slow_consumers_total"] < 1:
                self.assertLess(time.monotonic(), deadline, "the stalled reader was never cut off")
                for unused in range(200):
                    publisher.mqtt.publish("flood/data", payload, 0)
                metrics = scrape(metrics_port)
                peak = max(peak, metrics["acemq_queued_bytes"])
            # The ceiling held, the overflow was dropped and counted, and others were served.
            self.assertLessEqual(peak, ceiling)
            self.assertGreater(metrics["acemq_messages_dropped_total"], 0)
            watcher.publish("other/ping", b"pong")
            watcher.wait_messages(1)
            # The slow consumer's connection is closed (EOF after what was already sent).
            while stalled.recv(65536):
                pass
            stalled.close()
            for each in (publisher, watcher):
                each.close()
            self.assertEqual(broker.stop(), 0)


if __name__ == "__main__":
    unittest.main()
