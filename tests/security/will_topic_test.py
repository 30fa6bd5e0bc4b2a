"""Security: a Will under $SYS.

$SYS/... is the broker's own tree (its statistics); no client may publish there, and a Will is a
publication made by the broker on the client's behalf, so it must be held to the same rule. The
attacker is an anonymous client with full access (the development default auth.allow_anonymous =
true), so only the $SYS rule stands in its way.

* test_v5_will_under_sys_is_refused, test_v311_will_under_sys_is_refused: the attacker CONNECTs
  with Will Topic "$SYS/broker/fake" (QoS 1), then drops its socket abruptly (TCP RST, no
  DISCONNECT), which makes a broker that accepted the Will publish it as a forged broker
  statistic. The CONNECT must be refused (MQTT 5: CONNACK 0x87; 3.1.1: return code 5) and a
  subscriber to "$SYS/broker/fake" must receive nothing.
* test_v5_retained_will_under_sys_is_refused, test_v311_retained_will_under_sys_is_refused: the
  same with the Will Retain flag, which would leave the forged value as the retained
  "$SYS/broker/fake" for every later subscriber. Refused; a later subscriber gets no retained
  message.
* test_v5_publish_under_sys_gets_puback_0x87: the plain PUBLISH to $SYS/... at QoS 1 is refused
  with PUBACK 0x87 and delivered to nobody (already the case: a control that must keep passing).

"Nothing arrives" is proved by ordering: after the attacker is gone, a client CONNECTs with the
attacker's Client Identifier (so any connection of the attacker still known to the broker is
taken over and its Will published before that CONNACK), then a marker is published; the marker
must be the first message the subscriber receives.
"""

import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from security_harness import (NOT_AUTHORIZED, V311, V5, VERSION_NAME, Broker,  # noqa: E402
                              RawClient, describe)

FAKE = "$SYS/broker/fake"


class will_topic(unittest.TestCase):
    def setUp(self):
        self.broker = Broker("auth.allow_anonymous=true", "log.level=debug")
        self.clients = []

    def tearDown(self):
        for each in self.clients:
            each.close()
        code = self.broker.stop()
        self.broker.close()
        self.assertEqual(code, 0, "broker exit code %d" % code)

    def raw(self, version=V5):
        made = RawClient(self.broker, version)
        self.clients.append(made)
        return made

    def anonymous(self, version=V5, client_id=None):
        made = self.raw(version)
        connack = made.connect(client_id or "sec-" + uuid.uuid4().hex[:8])
        self.assertEqual(connack.reason, 0, str(connack))
        return made

    def watch(self, marker):
        """A subscriber to FAKE and then to `marker` (a retained FAKE message, if any, is sent
        right after the first SUBACK, so before any message on the marker)."""
        watcher = self.anonymous()
        self.assertEqual(watcher.subscribe(FAKE, 1), 1)
        self.assertEqual(watcher.subscribe(marker, 1), 1)
        return watcher

    def attempt_will(self, version, retain):
        marker = "marker/" + uuid.uuid4().hex[:8]
        watcher = self.watch(marker)
        attacker_id = "attacker-" + uuid.uuid4().hex[:8]
        attacker = self.raw(version)
        connack = attacker.connect(attacker_id, will=(FAKE, b"forged by a client", 1, retain))
        refused = connack.reason != 0
        after_connack = attacker.read_until_closed() if refused else None
        attacker.drop()

        # Whatever connection of the attacker the broker still knows is taken over (and its Will
        # published) before this CONNACK; then the marker goes out.
        self.anonymous(client_id=attacker_id)
        publisher = self.anonymous()
        self.assertEqual(publisher.publish(marker, b"marker"), 0)
        live = watcher.receive_until(marker)

        later_marker = "marker/" + uuid.uuid4().hex[:8]
        late = self.watch(later_marker)
        self.assertEqual(publisher.publish(later_marker, b"later marker"), 0)
        later = late.receive_until(later_marker)

        outcome = ("%s CONNECT with Will Topic %r%s: %s; the subscriber to %s then received %s, "
                   "and a later subscriber received %s"
                   % (VERSION_NAME[version], FAKE, " (retained)" if retain else "", connack, FAKE,
                      describe(live), describe(later)))
        self.assertEqual(connack.reason, NOT_AUTHORIZED[version], outcome)
        self.assertEqual(describe(after_connack), "[]", outcome)
        self.assertEqual([each.topic for each in live], [marker], outcome)
        self.assertEqual([each.topic for each in later], [later_marker], outcome)

    def test_v5_will_under_sys_is_refused(self):
        self.attempt_will(V5, retain=False)

    def test_v5_retained_will_under_sys_is_refused(self):
        self.attempt_will(V5, retain=True)

    def test_v311_will_under_sys_is_refused(self):
        self.attempt_will(V311, retain=False)

    def test_v311_retained_will_under_sys_is_refused(self):
        self.attempt_will(V311, retain=True)

    def test_v5_publish_under_sys_gets_puback_0x87(self):
        marker = "marker/" + uuid.uuid4().hex[:8]
        watcher = self.watch(marker)
        publisher = self.anonymous()
        self.assertEqual(publisher.publish(FAKE, b"forged", qos=1, retain=True), 0x87)
        self.assertEqual(publisher.publish(marker, b"marker"), 0)
        received = watcher.receive_until(marker)
        self.assertEqual([each.topic for each in received], [marker], describe(received))


if __name__ == "__main__":
    unittest.main()
