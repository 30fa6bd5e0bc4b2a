#!/usr/bin/env python3
"""Security: RFC 9431 authorization on the wire.

  a  RFC 9431 3.1: an MQTT 5 ACE client's QoS 0 PUBLISH to a topic outside its token's scope
     gets DISCONNECT 0x87 and the connection is closed; with ace.hide_topic_names = true the
     reason is 0x80 (Unspecified error). Controls: at QoS 1 the PUBLISH gets PUBACK 0x87 (0x80
     with hidden names) and the connection stays usable.
  b  RFC 9431 6.2: an MQTT 3.1.1 ACE client's PUBLISH outside the scope closes the connection
     (control).
  c  MQTT 5.0 4.12 [MQTT-4.12.0-1]: a CONNECT with an Authentication Method no provider supports
     gets CONNACK 0x8C Bad authentication method, on the TLS and on the TCP listener.

A refusal is told apart from a silent drop by the broker's answer to a PINGREQ sent in the same
TLS record as the PUBLISH: a broker that drops the PUBLISH answers PINGRESP, one that ends the
connection answers DISCONNECT (or, in 3.1.1, closes). Every wait is on an event.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ace_security_harness as harness  # noqa: E402
from ace_security_harness import (BAD_AUTHENTICATION_METHOD, DISCONNECT, NOT_AUTHORIZED, PINGRESP,  # noqa: E402
                                  SUCCESS, UNSPECIFIED_ERROR, MqttClient, SecurityEnvironment, SiblingBroker,
                                  principal_token, scope)

TOKEN_SCOPE = scope(("scoped/#", "pub", "sub"))

ENV = None
HIDDEN = None  # a second broker with ace.hide_topic_names = true


def setUpModule():
    global ENV, HIDDEN
    ENV = SecurityEnvironment(tcp=True)
    try:
        ENV.start()
        HIDDEN = SiblingBroker(ENV, {"ace.hide_topic_names": "true"})
        HIDDEN.start()
        ENV.use()
    except Exception:
        if HIDDEN:
            HIDDEN.stop()
        ENV.stop()
        raise


def tearDownModule():
    HIDDEN.stop()
    ENV.stop()


class Scope(unittest.TestCase):
    def setUp(self):
        self.clients = []

    def tearDown(self):
        for client in self.clients:
            client.close()

    def ace_client(self, env, name, version=5):
        token, pop = principal_token(name, TOKEN_SCOPE)
        if version == 5:
            client = MqttClient(env)
            self.clients.append(client)
            connack = client.ace_connect(token, pop, name)
        else:
            client = MqttClient(env, version=4, transport="exporter")
            self.clients.append(client)
            connack = client.ace_connect_v311(token, pop, name)
        self.assertIsNotNone(connack, env.logs())
        self.assertEqual(connack.reason, SUCCESS, env.logs())
        return client

    def publish_then_ping(self, client, topic, qos=0):
        """PUBLISH and PINGREQ in one write (one TLS record): the broker reads both before it
        acts on the first. Returns the packets up to PINGRESP or the end of the stream."""
        client.send_raw(client.publish_packet(topic, "outside the scope", qos, 1) + client.pingreq_packet())
        packets = []
        while True:
            packet = client.read()
            if packet is None:
                packets.append("<end of stream>")
                return packets
            packets.append(packet)
            if packet.kind == PINGRESP:
                return packets

    def expect_disconnect(self, env, name, expected):
        client = self.ace_client(env, name)
        # Control: inside the scope the connection carries on.
        inside = self.publish_then_ping(client, "scoped/fine")
        self.assertEqual([p.kind for p in inside], [PINGRESP], inside)
        packets = self.publish_then_ping(client, "outside/x")
        first = packets[0]
        if first != "<end of stream>" and first.kind == PINGRESP:
            self.fail("RFC 9431 3.1: the QoS 0 PUBLISH to outside/x (outside the scope %s) was SILENTLY "
                      "DROPPED: the connection stayed open and answered the PINGREQ after it (%r); "
                      "expected DISCONNECT 0x%02X and the connection closed" % (TOKEN_SCOPE, packets, expected))
        self.assertTrue(first != "<end of stream>" and first.kind == DISCONNECT,
                        "expected DISCONNECT 0x%02X, got %r" % (expected, packets))
        self.assertEqual(first.reason, expected, "DISCONNECT reason: got %r" % packets)
        self.assertEqual(packets[1:], ["<end of stream>"], "after the DISCONNECT: %r" % packets)

    def test_a_v5_qos0_outside_scope_disconnects_0x87(self):
        self.expect_disconnect(ENV, "scope-a-qos0", NOT_AUTHORIZED)

    def test_a_v5_qos0_outside_scope_hidden_names_disconnects_0x80(self):
        self.expect_disconnect(HIDDEN, "scope-a-qos0-hidden", UNSPECIFIED_ERROR)

    def test_a_control_v5_qos1_outside_scope_gets_puback_0x87(self):
        for env, name, expected in ((ENV, "scope-a-qos1", NOT_AUTHORIZED),
                                    (HIDDEN, "scope-a-qos1-hidden", UNSPECIFIED_ERROR)):
            with self.subTest(hide_topic_names=env is HIDDEN):
                client = self.ace_client(env, name)
                packets = self.publish_then_ping(client, "outside/x", qos=1)
                self.assertEqual([p.kind if p != "<end of stream>" else p for p in packets],
                                 [harness.PUBACK, PINGRESP], packets)
                self.assertEqual(packets[0].reason, expected, packets)

    def test_b_control_v311_qos0_outside_scope_closes(self):
        client = self.ace_client(ENV, "scope-b-v311", version=4)
        inside = self.publish_then_ping(client, "scoped/fine")
        self.assertEqual([p.kind for p in inside], [PINGRESP], inside)
        packets = self.publish_then_ping(client, "outside/x")
        self.assertEqual(packets, ["<end of stream>"],
                         "RFC 9431 6.2: an MQTT 3.1.1 PUBLISH outside the scope must close the connection")

    def test_c_unknown_authentication_method_gets_0x8c(self):
        for transport in ("tls", "tcp"):
            with self.subTest(listener=transport):
                client = MqttClient(ENV, transport=transport)
                self.clients.append(client)
                client.connect("scope-c-" + transport, method="ace-bogus", data=b"\x00\x01x")
                connack = client.read()
                self.assertIsNotNone(connack, ENV.logs())
                self.assertEqual(connack.reason, BAD_AUTHENTICATION_METHOD,
                                 "[MQTT-4.12.0-1] CONNECT with Authentication Method ace-bogus on the %s "
                                 "listener: CONNACK 0x%02X, expected 0x8C" % (transport, connack.reason))


if __name__ == "__main__":
    unittest.main(verbosity=2)
