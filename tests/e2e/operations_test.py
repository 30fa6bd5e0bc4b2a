"""End-to-end operations: MQTT over WebSocket and secure WebSocket with MQTT.js, /metrics
scraped with curl and checked against the traffic sent, a certificate swapped under a live
connection with SIGHUP (checked with openssl s_client), and connection rate limits driven past
their bound while another client stays responsive. Waits on events, never on sleeps."""

import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
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


if __name__ == "__main__":
    unittest.main()
