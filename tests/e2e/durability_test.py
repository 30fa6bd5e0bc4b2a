"""End-to-end durability: QoS 1 and QoS 2 messages for an offline persistent session, the broker
killed with SIGKILL mid-stream and restarted on the same database. Every message the publisher
got PUBACK/PUBCOMP for arrives, QoS 2 exactly once; retained messages and subscriptions survive.
Also: a corrupt database stops start-up with an error, and the in-memory mode writes no file."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from mqtt_clients import TIMEOUT, PacketTypes, client, properties  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402

MESSAGES = 200  # per QoS
DATABASE = os.path.join("var", "broker", "acemq-broker.db")


class publisher:
    """Publishes QoS 1 and QoS 2 messages and records those acknowledged (PUBACK / PUBCOMP)."""

    def __init__(self, port, kill_after, on_threshold):
        self.acknowledged = set()
        self.sent = {}
        self._early = set()
        self._lock = threading.Lock()
        self._kill_after = kill_after
        self._on_threshold = on_threshold
        self._connected = threading.Event()
        self.paho = mqtt.Client(client_id="durable-publisher", protocol=mqtt.MQTTv5)
        self.paho.max_inflight_messages_set(20)
        self.paho.on_connect = lambda *unused: self._connected.set()
        self.paho.on_publish = self._on_publish
        self.paho.connect("localhost", port, keepalive=60, clean_start=True)
        self.paho.loop_start()
        if not self._connected.wait(TIMEOUT):
            raise AssertionError("publisher did not connect")

    def _on_publish(self, unused_client, unused_userdata, mid):
        # paho calls this holding its outgoing-message lock, which publish() takes too: this
        # lock is never held across a paho call, or the two threads can deadlock.
        with self._lock:
            if mid in self.sent:
                self._acknowledge(self.sent[mid])
            else:
                self._early.add(mid)  # acknowledged before publish() recorded it

    def _acknowledge(self, payload):
        self.acknowledged.add(payload)
        if len(self.acknowledged) == self._kill_after:
            self._on_threshold()

    def publish(self, topic, payload, qos):
        info = self.paho.publish(topic, payload, qos=qos)
        with self._lock:
            self.sent[info.mid] = payload
            if info.mid in self._early:
                self._early.discard(info.mid)
                self._acknowledge(payload)

    def stop(self):
        self.paho.loop_stop()
        self.paho.disconnect()


def subscriber(broker, clean_start):
    return client(broker, client_id="durable-subscriber", clean_start=clean_start,
                  connect_properties=properties(PacketTypes.CONNECT,
                                                SessionExpiryInterval=3600))


def receive_until(consumer, payload, timeout):
    """Collects messages until one with `payload` arrives; returns them all."""
    received = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("did not receive %r; got %d messages" % (payload,
                                                                            len(received)))
        message = consumer.messages.get(timeout=remaining)
        received.append(message)
        if message.payload == payload:
            return received


class kill_and_restart(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="acemq-durability-")
        subprocess.run([os.environ["ACEMQ_DEV_PKI"], os.path.join(self.data_dir, "var", "pki")],
                       check=True, stdout=subprocess.DEVNULL)

    def tearDown(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def run_scenario(self, *overrides):
        first = Broker(*overrides, data_dir=self.data_dir)
        try:
            consumer = subscriber(first, clean_start=True)
            consumer.subscribe("durable/q1", qos=1)
            consumer.subscribe("durable/q2", qos=2)
            retained = client(first, client_id="durable-retainer")
            retained.paho.publish("durable/retained", b"kept", qos=1, retain=True).wait_for_publish()
            retained.paho.disconnect()
            consumer.paho.disconnect()
            self.assertEqual(consumer.disconnects.get(timeout=TIMEOUT), 0)
            consumer.paho.loop_stop()

            # Kill mid-stream: once a third of the messages are acknowledged.
            killed = threading.Event()

            def kill_now():
                first.process.send_signal(signal.SIGKILL)
                killed.set()

            producer = publisher(first.tcp_port, (2 * MESSAGES) // 3, kill_now)
            for number in range(MESSAGES):
                producer.publish("durable/q1", b"q1-%d" % number, 1)
                producer.publish("durable/q2", b"q2-%d" % number, 2)
            self.assertTrue(killed.wait(60), "the broker was not killed")
            first.kill()
            producer.stop()
            self.assertEqual(first.process.returncode, -signal.SIGKILL)
        finally:
            first.close()
        acknowledged = set(producer.acknowledged)  # the network loop has stopped
        self.assertGreaterEqual(len(acknowledged), (2 * MESSAGES) // 3)
        self.assertLess(len(acknowledged), 2 * MESSAGES, "killed after the last ack")

        second = Broker(*overrides, data_dir=self.data_dir)
        try:
            second.wait_for_output(r"persistence: restored 1 sessions")
            consumer = subscriber(second, clean_start=False)
            self.assertTrue(consumer.flags.get("session present"))
            # A message published after the restart comes behind everything restored (one queue,
            # in order [MQTT-4.6.0-6]) and proves the subscription survived.
            late = client(second, client_id="durable-late")
            late.paho.publish("durable/q2", b"end", qos=2).wait_for_publish()
            received = receive_until(consumer, b"end", 60)
            counts = Counter(message.payload for message in received)
            for payload in acknowledged:
                self.assertIn(payload, counts, "acknowledged message lost")
            for payload, count in counts.items():
                if payload.startswith(b"q2-") or payload == b"end":
                    self.assertEqual(count, 1, "QoS 2 message %r delivered %d times" %
                                     (payload, count))
            # Per topic, the order of publication is kept (duplicates of QoS 1 aside).
            for topic in (b"q1-", b"q2-"):
                numbers = [int(m.payload[3:]) for m in received if m.payload.startswith(topic)]
                first_seen = list(dict.fromkeys(numbers))
                self.assertEqual(first_seen, sorted(first_seen))
            consumer.paho.disconnect()
            late.paho.disconnect()

            reader = client(second, client_id="durable-reader")
            reader.subscribe("durable/retained", qos=1)
            message = reader.messages.get(timeout=TIMEOUT)
            self.assertEqual((message.topic, message.payload, message.retain),
                             ("durable/retained", b"kept", 1))
            reader.paho.disconnect()
        finally:
            second.close()

    def test_sync_durability_loses_no_acknowledged_message_on_sigkill(self):
        self.run_scenario()

    def test_restart_after_sigterm_in_interval_mode_keeps_everything(self):
        # Interval mode acknowledges before the commit; a clean stop commits what is pending.
        first = Broker("persistence.durability=\"20ms\"", data_dir=self.data_dir)
        try:
            consumer = subscriber(first, clean_start=True)
            consumer.subscribe("durable/interval", qos=2)
            consumer.paho.disconnect()
            consumer.paho.loop_stop()
            producer = client(first, client_id="interval-publisher")
            for number in range(50):
                producer.paho.publish("durable/interval", b"i-%d" % number, qos=2)
            producer.paho.publish("durable/interval", b"end", qos=2).wait_for_publish()
            producer.paho.disconnect()
            self.assertEqual(first.stop(), 0)
        finally:
            first.close()
        second = Broker("persistence.durability=\"20ms\"", data_dir=self.data_dir)
        try:
            consumer = subscriber(second, clean_start=False)
            received = receive_until(consumer, b"end", 30)
            self.assertEqual([m.payload for m in received],
                             [b"i-%d" % n for n in range(50)] + [b"end"])
            consumer.paho.disconnect()
        finally:
            second.close()


class startup(unittest.TestCase):
    def test_corrupt_database_stops_startup_with_an_error(self):
        data_dir = tempfile.mkdtemp(prefix="acemq-durability-")
        try:
            path = os.path.join(data_dir, DATABASE)
            os.makedirs(os.path.dirname(path))
            with open(path, "wb") as damaged:
                damaged.write(b"\x00not a database" * 512)
            result = subprocess.run(
                [os.environ["ACEMQ_BROKER"], "--data-dir", data_dir,
                 "--set", "listener.tcp.port=0", "--set", "listener.tls.port=0"],
                capture_output=True, text=True, timeout=TIMEOUT * 3)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("persistence", result.stderr)
            with open(path, "rb") as untouched:
                self.assertEqual(untouched.read(), b"\x00not a database" * 512)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_in_memory_mode_writes_no_database(self):
        with Broker("persistence.enabled=false") as broker:
            consumer = client(broker, client_id="memory-only",
                              connect_properties=properties(PacketTypes.CONNECT,
                                                            SessionExpiryInterval=60))
            consumer.subscribe("memory/#", qos=1)
            consumer.paho.disconnect()
            self.assertFalse(os.path.exists(os.path.join(broker.data_dir, DATABASE)))
            self.assertEqual(broker.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
