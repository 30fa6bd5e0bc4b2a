"""End-to-end: the mosquitto command-line clients (MQTT 3.1.1 and 5, plain TCP and TLS) against
the real broker."""

import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402

CLIENT_TIMEOUT = 20


class subscriber:
    """mosquitto_sub in debug mode; construction returns once the SUBACK has been received."""

    def __init__(self, broker, topic, version, count, tls=False, qos=0, extra=()):
        # stdbuf: line-buffered output, so the SUBACK line is seen as soon as it happens.
        command = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-v", "-h", "localhost", "-V", version, "-t", topic,
                   "-q", str(qos), "-C", str(count), "-W", str(CLIENT_TIMEOUT)]
        command += connection_arguments(broker, tls) + list(extra)
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Subscribed (mid"):
                return
        raise AssertionError("no SUBACK:\n" + "\n".join(self.lines))

    def messages(self):
        """Waits for the process to end (count reached) and returns the "topic payload" lines."""
        # Keep reading through the same buffered stream as the constructor (communicate() would
        # read the pipe directly and miss lines already buffered). -W bounds the wait.
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
        self.process.wait(timeout=CLIENT_TIMEOUT + 5)
        # Echo the client's debug log: unittest shows it next to a failure.
        print("\n".join(self.lines) + "\n(exit code %s)" % self.process.returncode)
        return [line for line in self.lines if not line.startswith(("Client ", "Subscribed"))]


def connection_arguments(broker, tls):
    if tls:
        return ["-p", str(broker.tls_port), "--cafile", broker.ca]
    return ["-p", str(broker.tcp_port)]


def publish(broker, topic, message, version, tls=False, qos=0, extra=()):
    command = ["mosquitto_pub", "-h", "localhost", "-V", version, "-t", topic, "-m", message,
               "-q", str(qos)] + connection_arguments(broker, tls) + list(extra)
    subprocess.run(command, check=True, timeout=CLIENT_TIMEOUT)


class mosquitto_clients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker()

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        cls.broker.close()
        assert code == 0, "broker exit code %d" % code

    def round_trip(self, version, qos, tls):
        topic = "e2e/rt/%s/%d/%s" % (version, qos, "tls" if tls else "tcp")
        sub = subscriber(self.broker, topic, version, 1, tls=tls, qos=qos)
        publish(self.broker, topic, "hello-%d" % qos, version, tls=tls, qos=qos)
        self.assertEqual(sub.messages(), ["%s hello-%d" % (topic, qos)])

    def test_round_trips_every_qos_both_versions_plain_and_tls(self):
        for version in ("mqttv311", "mqttv5"):
            for qos in (0, 1, 2):
                for tls in (False, True):
                    with self.subTest(version=version, qos=qos, tls=tls):
                        self.round_trip(version, qos, tls)

    def test_retained_message_reaches_a_later_subscriber(self):
        for version in ("mqttv311", "mqttv5"):
            topic = "e2e/retained/" + version
            publish(self.broker, topic, "kept", version, qos=1, extra=["-r"])
            sub = subscriber(self.broker, topic, version, 1)
            self.assertEqual(sub.messages(), [topic + " kept"])
            # An empty retained message deletes it [MQTT-3.3.1-6].
            publish(self.broker, topic, "", version, qos=1, extra=["-r"])

    def test_will_is_published_when_a_client_is_killed(self):
        for version in ("mqttv311", "mqttv5"):
            will_topic = "e2e/will/" + version
            watcher = subscriber(self.broker, will_topic, version, 1, qos=1)
            victim = subscriber(self.broker, "e2e/victim", version, 1,
                                extra=["--will-topic", will_topic, "--will-payload", "gone",
                                       "--will-qos", "1"])
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait()
            self.assertEqual(watcher.messages(), [will_topic + " gone"])

    def test_dollar_topics_are_not_matched_by_a_leading_wildcard(self):
        # [MQTT-4.7.2-1]: '#' does not match topics starting with '$'. Both messages come from
        # one connection in order, so if '$e2e/x' matched, it would be the first one received.
        for version in ("mqttv311", "mqttv5"):
            everything = subscriber(self.broker, "#", version, 1, qos=1)
            dollar = subscriber(self.broker, "$e2e/#", version, 1, qos=1)
            publish(self.broker, "$e2e/x", "dollar", version, qos=1)
            publish(self.broker, "e2e/plain/" + version, "plain", version, qos=1)
            self.assertEqual(dollar.messages(), ["$e2e/x dollar"])
            self.assertEqual(everything.messages(), ["e2e/plain/%s plain" % version])


if __name__ == "__main__":
    unittest.main()
