"""End-to-end: Python paho-mqtt (MQTT 5 and 3.1.1, TCP and TLS) and raw sockets against the real
broker. Ordering guarantees stand in for "nothing else arrived": a marker message sent after the
one that must not be delivered arrives first if and only if that one was dropped."""

import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402
from mqtt_clients import (PacketTypes, client, connect_packet,  # noqa: E402
                          encode_remaining_length, properties, raw_socket, read_packet,
                          read_until_closed, utf8)


def unique(prefix):
    return "%s/%s" % (prefix, uuid.uuid4().hex[:8])


class paho_v5(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker()

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        cls.broker.close()
        assert code == 0, "broker exit code %d" % code

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for each in self.clients:
            each.close()

    def connect(self, **arguments):
        made = client(self.broker, **arguments)
        self.clients.append(made)
        return made

    def test_session_persists_across_reconnect(self):
        topic = unique("e2e/session")
        client_id = unique("persistent").replace("/", "-")
        session = properties(PacketTypes.CONNECT, SessionExpiryInterval=300)
        first = client(self.broker, client_id=client_id, clean_start=False,
                       connect_properties=session)
        self.assertEqual(first.flags["session present"], 0)
        first.subscribe(topic, qos=1)
        first.close()
        self.connect().publish(topic, b"while away", qos=1)
        second = self.connect(client_id=client_id, clean_start=False, connect_properties=session)
        self.assertEqual(second.flags["session present"], 1)
        message = second.receive()
        self.assertEqual((message.topic, message.payload, message.qos),
                         (topic, b"while away", 1))
        # Clean start discards it [MQTT-3.1.2-4].
        second.close()
        self.clients.remove(second)
        third = self.connect(client_id=client_id, clean_start=True)
        self.assertEqual(third.flags["session present"], 0)

    def test_qos2_exactly_once(self):
        topic = unique("e2e/qos2")
        receiver = self.connect()
        self.assertEqual(receiver.subscribe(topic, qos=2), [2])
        sender = self.connect()
        for number in range(20):
            sender.publish(topic, str(number).encode(), qos=2)
        sender.publish(topic, b"end", qos=2)
        received = []
        while True:
            message = receiver.receive()
            self.assertEqual(message.qos, 2)
            if message.payload == b"end":
                break
            received.append(int(message.payload))
        self.assertEqual(received, list(range(20)))

    def test_shared_subscription_delivers_each_message_once(self):
        topic = unique("e2e/shared")
        group = "$share/workers/" + topic
        first, second = self.connect(), self.connect()
        first.subscribe(group, qos=1)
        second.subscribe(group, qos=1)
        first.subscribe(topic + "/end", qos=1)
        second.subscribe(topic + "/end", qos=1)
        sender = self.connect()
        for number in range(10):
            sender.publish(topic, str(number).encode(), qos=1)
        sender.publish(topic + "/end", b"end", qos=1)
        payloads = []
        for member in (first, second):
            while True:
                message = member.receive()
                if message.topic.endswith("/end"):
                    break
                payloads.append(int(message.payload))
        self.assertEqual(sorted(payloads), list(range(10)))

    def test_no_local(self):
        topic = unique("e2e/nolocal")
        subject = self.connect()
        subject.subscribe(topic, qos=1, noLocal=True)
        subject.subscribe(topic + "/marker", qos=1)
        subject.publish(topic, b"own", qos=1)  # [MQTT-3.8.3-3]: not sent back
        subject.publish(topic + "/marker", b"marker", qos=1)
        self.assertEqual(subject.receive().payload, b"marker")
        self.connect().publish(topic, b"other", qos=1)
        self.assertEqual(subject.receive().payload, b"other")

    def test_retain_handling(self):
        topic = unique("e2e/retainhandling")
        self.connect().publish(topic, b"retained", qos=1, retain=True)
        never = self.connect()
        never.subscribe(topic, qos=1, retainHandling=2)  # 2: do not send retained
        never.subscribe(topic + "/marker", qos=1)
        self.connect().publish(topic + "/marker", b"marker", qos=1)
        self.assertEqual(never.receive().payload, b"marker")

        if_new = self.connect()
        if_new.subscribe(topic, qos=1, retainHandling=1)  # 1: only for a new subscription
        message = if_new.receive()
        self.assertEqual((message.payload, message.retain), (b"retained", 1))
        if_new.subscribe(topic, qos=1, retainHandling=1)  # existed: nothing
        if_new.subscribe(topic + "/marker", qos=1)
        self.connect().publish(topic + "/marker", b"marker", qos=1)
        self.assertEqual(if_new.receive().payload, b"marker")

        always = self.connect()
        always.subscribe(topic, qos=1, retainHandling=0)
        self.assertEqual(always.receive().payload, b"retained")
        self.connect().publish(topic, b"", qos=1, retain=True)

    def test_message_expiry(self):
        topic = unique("e2e/expiry")
        receiver = self.connect()
        receiver.subscribe(topic, qos=1)
        sender = self.connect()
        sender.publish(topic, b"fresh", qos=1,
                       publish_properties=properties(PacketTypes.PUBLISH,
                                                     MessageExpiryInterval=60))
        message = receiver.receive()
        # Forwarded with the remaining lifetime [MQTT-3.3.2-6].
        self.assertTrue(0 < message.properties.MessageExpiryInterval <= 60)

        sender.publish(topic + "/retained", b"short-lived", qos=1, retain=True,
                       publish_properties=properties(PacketTypes.PUBLISH,
                                                     MessageExpiryInterval=1))
        # Expiry is about time passing, so here time must pass: wait past the 1 s lifetime.
        time.sleep(2.2)
        late = self.connect()
        late.subscribe(topic + "/retained", qos=1)
        late.subscribe(topic + "/marker", qos=1)
        sender.publish(topic + "/marker", b"marker", qos=1)
        self.assertEqual(late.receive().payload, b"marker")

    def test_user_properties_are_forwarded(self):
        topic = unique("e2e/userprops")
        receiver = self.connect()
        receiver.subscribe(topic, qos=1)
        sent = properties(PacketTypes.PUBLISH, UserProperty=[("colour", "blue"), ("n", "1")],
                          ContentType="text/plain", PayloadFormatIndicator=1)
        self.connect().publish(topic, b"with properties", qos=1, publish_properties=sent)
        message = receiver.receive()
        self.assertEqual(message.properties.UserProperty, [("colour", "blue"), ("n", "1")])
        self.assertEqual(message.properties.ContentType, "text/plain")
        self.assertEqual(message.properties.PayloadFormatIndicator, 1)

    def test_request_response(self):
        request_topic = unique("e2e/request")
        responder = self.connect()
        responder.subscribe(request_topic, qos=1)
        requester = self.connect()
        response_topic = unique("e2e/response")
        requester.subscribe(response_topic, qos=1)
        requester.publish(request_topic, b"ping", qos=1,
                          publish_properties=properties(PacketTypes.PUBLISH,
                                                        ResponseTopic=response_topic,
                                                        CorrelationData=b"\x01\x02id"))
        request = responder.receive()
        self.assertEqual(request.properties.ResponseTopic, response_topic)
        responder.publish(request.properties.ResponseTopic, b"pong", qos=1,
                          publish_properties=properties(
                              PacketTypes.PUBLISH,
                              CorrelationData=request.properties.CorrelationData))
        response = requester.receive()
        self.assertEqual((response.payload, response.properties.CorrelationData),
                         (b"pong", b"\x01\x02id"))

    def test_response_information(self):
        asking = self.connect(client_id="asks-for-response-info",
                              connect_properties=properties(PacketTypes.CONNECT,
                                                            RequestResponseInformation=1))
        self.assertEqual(asking.connack_properties.ResponseInformation,
                         "response/asks-for-response-info")

    def test_take_over(self):
        # Raw sockets: paho 1.6 ignores the reason code of a DISCONNECT whose Remaining Length is
        # 1 (it reads it only when the length exceeds 2), which MQTT 5.0 3.14.2.2 allows.
        client_id = unique("twin").replace("/", "-")
        first = raw_socket(self.broker.tcp_port)
        first.sendall(connect_packet(client_id))
        self.assertEqual(read_packet(first)[0], 0x20)
        second = self.connect(client_id=client_id)  # paho takes the session over
        self.assertEqual(second.reason, 0)
        packets = read_until_closed(first)
        self.assertEqual(len(packets), 1)
        self.assertEqual((packets[0][0], packets[0][1][0]), (0xE0, 0x8E))  # session taken over

    def test_v311_round_trip_and_assigned_id(self):
        topic = unique("e2e/v311")
        receiver = self.connect(version=4)
        self.assertEqual(receiver.subscribe(topic, qos=2), [2])
        self.connect(version=4).publish(topic, b"old protocol", qos=2)
        message = receiver.receive()
        self.assertEqual((message.payload, message.qos), (b"old protocol", 2))

    def test_tls_with_the_development_ca(self):
        topic = unique("e2e/tls")
        receiver = self.connect(tls=True)
        receiver.subscribe(topic, qos=1)
        pki = self.broker.pki
        sender = self.connect(tls=True, certificate=(os.path.join(pki, "client.pem"),
                                                     os.path.join(pki, "client.key")))
        sender.publish(topic, b"over tls", qos=1)
        self.assertEqual(receiver.receive().payload, b"over tls")

    def test_keep_alive_expiry_disconnects(self):
        # Keep alive 1 s and then silence: the broker must close after 1.5 x [MQTT-3.1.2-22].
        connection = raw_socket(self.broker.tcp_port)
        started = time.monotonic()
        connection.sendall(connect_packet("silent-after-connect", keepalive=1))
        connack = read_packet(connection)
        self.assertEqual(connack[0], 0x20)
        self.assertEqual(connack[1][1], 0x00)
        packets = read_until_closed(connection)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 1.0)
        self.assertEqual(len(packets), 1)
        self.assertEqual((packets[0][0], packets[0][1][0]), (0xE0, 0x8D))  # keep alive timeout

    def test_bad_protocol_version_is_refused(self):
        connection = raw_socket(self.broker.tcp_port)
        connection.sendall(connect_packet("from-the-future", protocol_level=6))
        packets = read_until_closed(connection)
        self.assertEqual(len(packets), 1)
        first_byte, body = packets[0]
        self.assertEqual(first_byte, 0x20)  # CONNACK, then close [MQTT-3.1.2-2]
        # 0x84 Unsupported Protocol Version (v5) or return code 1 (v3.1.1 form).
        self.assertIn(body[1], (0x84, 0x01))


class paho_limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker("broker.maximum_packet_size=1024", "broker.topic_alias_maximum=4")

    @classmethod
    def tearDownClass(cls):
        code = cls.broker.stop()
        cls.broker.close()
        assert code == 0, "broker exit code %d" % code

    def test_large_packet_is_rejected(self):
        advertised = client(self.broker)
        self.assertEqual(advertised.connack_properties.MaximumPacketSize, 1024)
        self.assertEqual(advertised.connack_properties.TopicAliasMaximum, 4)
        advertised.close()
        # paho refuses to send a packet over the advertised maximum, so a raw client does.
        connection = raw_socket(self.broker.tcp_port)
        connection.sendall(connect_packet("too-large"))
        self.assertEqual(read_packet(connection)[0], 0x20)
        body = utf8("e2e/large") + b"\x00" + b"x" * 2000
        connection.sendall(b"\x30" + encode_remaining_length(len(body)) + body)
        packets = read_until_closed(connection)
        self.assertEqual(len(packets), 1)
        self.assertEqual((packets[0][0], packets[0][1][0]), (0xE0, 0x95))  # packet too large


if __name__ == "__main__":
    unittest.main()
