"""Security: memory per identity (sessions, retained messages, queued bytes, packets before
authentication).

Each attack runs against the real acemq-broker with its default bounds (only existing settings
are lowered where the default would take minutes to reach):

* test_v5_partial_connect_before_authentication / test_v311_...: a client that has not
  authenticated announces a CONNECT of 512 KiB (under broker.maximum_packet_size, 1 MiB) and
  sends only its first bytes, hoping to hold the buffer until the connect timeout (set to 60 s
  here). The broker must refuse it from its header, beyond
  broker.max_packet_size_before_authentication (64 KiB): CONNACK 0x95 Packet too large and close
  (MQTT 5), close (3.1.1). Control: a CONNECT of 60 KiB is still accepted.
* test_bound_before_authentication_holds_the_largest_token: set far below a token (128 bytes),
  the bound is raised so that a CONNECT carrying the largest token accepted still fits, and no
  further.
* test_sessions_per_principal: the anonymous principal (every anonymous client is one) creates
  persistent sessions under new client identifiers, one after the other, until the broker
  refuses: the 1001st (broker.max_sessions_anonymous = 1000) must get CONNACK 0x97 Quota
  exceeded (3.1.1: return code 3, server unavailable), while a session of that principal still
  resumes and a password user still gets a session.
* test_retained_bytes: one client stores 1 MB retained messages under new topics. Past
  broker.max_retained_memory (256 MiB) the next one must be refused with PUBACK 0x97 and not be
  stored (a subscriber to its topic receives no retained message).
* test_queued_share_per_principal: with broker.max_queued_memory = 8 MiB, the anonymous
  principal's offline session is fed until it would hold the whole ceiling. A password user's
  offline session must still get its QoS 1 message: one principal's sessions hold at most a
  quarter of the ceiling (broker.max_queued_memory_per_principal = 0: derived).

Every wait is on a packet or a closed socket (socket timeout: a failure), never on a sleep.
"""

import os
import struct
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from security_harness import (V311, V5, Broker, Closed, Connack, RawClient,  # noqa: E402
                              Workspace, describe, property_block, utf8, varint)

PACKET_TOO_LARGE = 0x95
QUOTA_EXCEEDED = 0x97
SERVER_UNAVAILABLE_V311 = 0x03
PASSWORDS = {"alice": uuid.uuid4().hex, "svc": uuid.uuid4().hex}

# The defaults this test holds the broker to.
PRE_AUTHENTICATION_PACKET_LIMIT = 64 * 1024
ANONYMOUS_SESSIONS = 1000
RETAINED_MEMORY = 256 * 1024 * 1024


def connect_header(version, remaining_length, clean_start=True):
    """The first bytes of a CONNECT announcing `remaining_length` bytes: fixed header, protocol
    name and level, flags and keep alive."""
    flags = 0x02 if clean_start else 0
    variable = utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", 60)
    return b"\x10" + varint(remaining_length) + variable


class memory_bounds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workspace = Workspace(users=PASSWORDS)

    @classmethod
    def tearDownClass(cls):
        cls.workspace.close()

    def setUp(self):
        self.broker = None
        self.clients = []

    def start(self, *settings):
        data_dir = self.workspace.fresh()
        self.broker = Broker("auth.password_file=" + os.path.join(data_dir, "passwd"),
                             "broker.connect_timeout=60", *settings, data_dir=data_dir)

    def tearDown(self):
        for each in self.clients:
            each.close()
        if self.broker:
            code = self.broker.stop()
            self.broker.close()
            self.assertEqual(code, 0, "broker exit code %d" % code)

    def raw(self, version=V5):
        made = RawClient(self.broker, version)
        self.clients.append(made)
        return made

    def password_user(self, name, client_id=None, clean_start=True, session_expiry=None):
        made = self.raw()
        connack = made.connect(client_id or name + "-" + uuid.uuid4().hex[:8],
                               clean_start=clean_start, session_expiry=session_expiry,
                               username=name, password=PASSWORDS[name])
        self.assertEqual(connack.reason, 0, "%s: %s" % (name, connack))
        return made, connack

    # ---- packets before authentication ----

    def partial_connect(self, version):
        self.start()
        attacker = self.raw(version)
        announced = 512 * 1024
        attacker.send(connect_header(version, announced))
        try:
            packets = attacker.read_until_closed()
        except OSError as error:  # socket timeout: the broker held the partial packet
            self.fail("a CONNECT announcing %d bytes before authentication was buffered: no "
                      "answer and no close within the socket timeout (%s)" % (announced, error))
        if version == V5:
            self.assertTrue(packets and isinstance(packets[0], Connack)
                            and packets[0].reason == PACKET_TOO_LARGE,
                            "expected CONNACK 0x95 and close, received %s" % describe(packets))
        else:
            self.assertEqual(packets, [], "3.1.1: close without a CONNACK")

        # Control: a CONNECT just under the bound (a large User Property) is accepted.
        legitimate = self.raw(version)
        if version == V5:
            body = (utf8("MQTT") + bytes([V5, 0x02]) + struct.pack("!H", 60) +
                    property_block([b"\x26" + utf8("pad") + utf8("x" * (60 * 1024))]) +
                    utf8("legitimate"))
        else:
            body = (utf8("MQTT") + bytes([V311, 0x02 | 0x80]) + struct.pack("!H", 60) +
                    utf8("legitimate") + utf8("x" * (60 * 1024)))
        self.assertLess(len(body), PRE_AUTHENTICATION_PACKET_LIMIT)
        legitimate.send(b"\x10" + varint(len(body)) + body)
        connack = legitimate.expect_connack()
        self.assertEqual(connack.reason, 0, "a 60 KiB CONNECT: %s" % (connack,))

    def test_bound_before_authentication_holds_the_largest_token(self):
        # Set far below a token: the broker raises it to hold an 8 KiB device JWT (its largest
        # token without ACE), a 256-byte client identifier and 4 KiB of other fields (12 544).
        self.start("broker.max_packet_size_before_authentication=128")
        token_sized = self.raw(V5)
        body = (utf8("MQTT") + bytes([V5, 0x02]) + struct.pack("!H", 60) +
                property_block([b"\x26" + utf8("token") + utf8("t" * 12_000)]) +
                utf8("c" * 256))
        self.assertLess(len(body) + 3, 12_544)
        token_sized.send(b"\x10" + varint(len(body)) + body)
        connack = token_sized.expect_connack()
        self.assertEqual(connack.reason, 0, "a CONNECT of %d bytes: %s" % (len(body) + 3, connack))
        past = self.raw(V5)
        past.send(connect_header(V5, 12_544 + 1))
        packets = past.read_until_closed()
        self.assertTrue(packets and isinstance(packets[0], Connack)
                        and packets[0].reason == PACKET_TOO_LARGE,
                        "expected CONNACK 0x95, received %s" % describe(packets))

    def test_v5_partial_connect_before_authentication(self):
        self.partial_connect(V5)

    def test_v311_partial_connect_before_authentication(self):
        self.partial_connect(V311)

    # ---- sessions per principal ----

    def test_sessions_per_principal(self):
        self.start()
        for n in range(ANONYMOUS_SESSIONS):
            client = RawClient(self.broker, V5)
            connack = client.connect("anon-%d" % n, session_expiry=3600)
            client.disconnect()
            self.assertEqual(connack.reason, 0, "anonymous session %d: %s" % (n, connack))
        extra = self.raw()
        connack = extra.connect("anon-extra", session_expiry=3600)
        self.assertEqual(connack.reason, QUOTA_EXCEEDED,
                         "session %d of the anonymous principal: %s"
                         % (ANONYMOUS_SESSIONS + 1, connack))
        extra_v311 = self.raw(V311)
        connack = extra_v311.connect("anon-extra-311", clean_start=False)
        self.assertEqual(connack.reason, SERVER_UNAVAILABLE_V311,
                         "3.1.1 session %d of the anonymous principal: %s"
                         % (ANONYMOUS_SESSIONS + 1, connack))
        # A session the principal holds still resumes, and another principal is not affected.
        resumed = self.raw()
        connack = resumed.connect("anon-0", clean_start=False, session_expiry=3600)
        self.assertEqual((connack.reason, connack.session_present), (0, 1),
                         "resuming anon-0: %s" % (connack,))
        self.password_user("alice", session_expiry=3600)

    # ---- retained messages ----

    def test_retained_bytes(self):
        self.start()
        publisher, _ = self.password_user("svc")
        payload = b"r" * 1_000_000
        stored_each = len(payload) + len("r/000")
        fitting = RETAINED_MEMORY // stored_each
        for n in range(fitting):
            reason = publisher.publish("r/%03d" % n, payload, qos=1, retain=True)
            self.assertLess(reason, 0x80, "retained message %d (%d bytes stored): 0x%02x"
                            % (n, (n + 1) * stored_each, reason))
        refused_topic = "r/%03d" % fitting
        reason = publisher.publish(refused_topic, payload, qos=1, retain=True)
        self.assertEqual(reason, QUOTA_EXCEEDED,
                         "retained message %d (%d bytes, bound %d): 0x%02x"
                         % (fitting, (fitting + 1) * stored_each, RETAINED_MEMORY, reason))
        # Not stored: a subscriber to its topic gets the marker first, no retained message.
        watcher, _ = self.password_user("alice")
        watcher.subscribe(refused_topic, qos=1)
        publisher.publish(refused_topic, b"marker", qos=1, retain=False)
        first = watcher.receive_publish()
        self.assertEqual((first.payload, first.retain), (b"marker", False),
                         "the refused retained message was stored")

    # ---- queued bytes per principal ----

    def test_queued_share_per_principal(self):
        ceiling = 8 * 1024 * 1024
        self.start("broker.max_queued_memory=%d" % ceiling)
        # The victim: a password user's offline session subscribed to v/#.
        victim, _ = self.password_user("alice", client_id="alice-dev", session_expiry=3600)
        self.assertEqual(victim.subscribe("v/#", qos=1), 1)
        victim.disconnect()
        # The attacker: the anonymous principal's offline session subscribed to q/#.
        hog = self.raw()
        self.assertEqual(hog.connect("hog", session_expiry=3600).reason, 0)
        self.assertEqual(hog.subscribe("q/#", qos=1), 1)
        hog.disconnect()
        publisher = self.raw()
        self.assertEqual(publisher.connect("flooder").reason, 0)
        chunk = b"q" * (64 * 1024)
        for unused in range(ceiling // len(chunk) + 8):
            publisher.publish("q/x", chunk, qos=1)
        self.assertLess(publisher.publish("v/1", b"for alice", qos=1), 0x80)
        # The victim resumes and gets the message queued while she was away.
        back, connack = self.password_user("alice", client_id="alice-dev", clean_start=False,
                                           session_expiry=3600)
        self.assertEqual(connack.session_present, 1)
        try:
            received = back.receive_publish()
        except (Closed, OSError) as error:
            self.fail("alice's queued message was dropped at the shared ceiling filled by "
                      "another principal (%r)" % (error,))
        self.assertEqual((received.topic, received.payload), ("v/1", b"for alice"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
