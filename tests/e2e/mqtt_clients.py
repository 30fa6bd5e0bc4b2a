"""Small helpers over paho-mqtt 1.6 (Debian's python3-paho-mqtt) and raw MQTT sockets, with every
wait bound to an event (a callback, a received packet), never to a sleep."""

import queue
import socket
import struct
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TIMEOUT = 10


def properties(packet_type, **values):
    """paho Properties of `packet_type` (e.g. PacketTypes.PUBLISH) with the given fields."""
    result = Properties(packet_type)
    for name, value in values.items():
        setattr(result, name, value)
    return result


class client:
    """A paho client running its network loop in a thread; constructor returns once connected."""

    def __init__(self, broker, client_id="", version=5, tls=False, clean_start=True,
                 connect_properties=None, keepalive=60, certificate=None, expect_refusal=False):
        self.version = version
        if version == 5:
            self.paho = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self.paho = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311,
                                    clean_session=clean_start)
        self.messages = queue.Queue()
        self.subacks = {}
        self.connack = queue.Queue()
        self.disconnects = queue.Queue()
        self._lock = threading.Lock()
        self.paho.on_connect = self._on_connect
        self.paho.on_message = lambda c, u, message: self.messages.put(message)
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_disconnect = self._on_disconnect
        if tls:
            if certificate:
                self.paho.tls_set(ca_certs=broker.ca, certfile=certificate[0],
                                  keyfile=certificate[1])
            else:
                self.paho.tls_set(ca_certs=broker.ca)
        port = broker.tls_port if tls else broker.tcp_port
        if version == 5:
            self.paho.connect("localhost", port, keepalive=keepalive, clean_start=clean_start,
                              properties=connect_properties)
        else:
            self.paho.connect("localhost", port, keepalive=keepalive)
        self.paho.loop_start()
        self.flags, self.reason, self.connack_properties = self.connack.get(timeout=TIMEOUT)
        if not expect_refusal and self.reason != 0:
            raise AssertionError("CONNACK refused: %s" % self.reason)

    def _on_connect(self, unused_client, unused_userdata, flags, reason, properties_=None):
        code = reason.value if hasattr(reason, "value") else reason
        self.connack.put((flags, code, properties_))

    def _on_subscribe(self, unused_client, unused_userdata, mid, granted, properties_=None):
        with self._lock:
            self.subacks.setdefault(mid, queue.Queue()).put(granted)

    def _on_disconnect(self, unused_client, unused_userdata, reason, properties_=None):
        self.disconnects.put(reason.value if hasattr(reason, "value") else reason)

    def subscribe(self, topic, qos=1, **options):
        """Subscribes and waits for the SUBACK; returns the granted QoS / reason codes."""
        if self.version == 5:
            sub_properties = options.pop("sub_properties", None)
            result, mid = self.paho.subscribe(topic, options=mqtt.SubscribeOptions(qos=qos, **options),
                                              properties=sub_properties)
        else:
            result, mid = self.paho.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS
        with self._lock:
            waiter = self.subacks.setdefault(mid, queue.Queue())
        granted = waiter.get(timeout=TIMEOUT)
        return [g.value if hasattr(g, "value") else g for g in granted]

    def publish(self, topic, payload, qos=1, retain=False, publish_properties=None):
        """Publishes and waits until the QoS flow completed (or the packet was written)."""
        if self.version == 5:
            info = self.paho.publish(topic, payload, qos, retain, properties=publish_properties)
        else:
            info = self.paho.publish(topic, payload, qos, retain)
        info.wait_for_publish(timeout=TIMEOUT)
        assert info.is_published(), "publish to %s did not complete" % topic

    def receive(self):
        return self.messages.get(timeout=TIMEOUT)

    def disconnect_reason(self):
        return self.disconnects.get(timeout=TIMEOUT)

    def close(self):
        self.paho.disconnect()
        self.paho.loop_stop()


# Raw MQTT, for what a well-behaved library will not send.

def encode_remaining_length(length):
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def utf8(text):
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def connect_packet(client_id, protocol_level=5, keepalive=60):
    variable = utf8("MQTT") + bytes([protocol_level, 0x02]) + struct.pack("!H", keepalive)
    if protocol_level == 5:
        variable += b"\x00"  # no properties
    body = variable + utf8(client_id)
    return b"\x10" + encode_remaining_length(len(body)) + body


def raw_socket(port):
    connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    connection.settimeout(TIMEOUT)
    return connection


def read_packet(connection):
    """Reads one MQTT packet; returns (first byte, body) or None at EOF."""
    header = connection.recv(1)
    if not header:
        return None
    length, shift = 0, 0
    while True:
        byte = connection.recv(1)
        if not byte:
            return None
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = b""
    while len(body) < length:
        chunk = connection.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return header[0], body


def read_until_closed(connection):
    """Reads packets until the peer closes; returns them."""
    packets = []
    while True:
        try:
            packet = read_packet(connection)
        except ConnectionResetError:
            return packets
        if packet is None:
            return packets
        packets.append(packet)
