#!/usr/bin/env python3
"""Security: an unauthenticated client cannot turn CONNECTs into introspection calls to the AS.

A CONNECT carrying a "reference token" (RFC 9431 2.2.5, RFC 9200 5.9) that is neither a JWT nor a
CWT can only be explained by the AS (/introspect, RFC 7662). Anyone who reaches the broker's TLS
listener may send such CONNECTs with made-up tokens, and each one used to cost an HTTPS call to
the AS: the broker amplified an unauthenticated client's traffic onto the AS. The real broker and
the real AS run here with a counting proxy between them, and:

  a  tokens that the AS cannot have issued (its handles are base64url of 32 random bytes, 43
     characters: ace.reference_token_length) are refused (0x87) without asking the AS;
  b  a token the AS said was inactive is refused from memory for ace.inactive_cache_ttl,
     however often it is presented;
  c  tokens of the right shape, each new, from one address: the AS is asked at most
     ace.introspection_address_burst times; the rest are refused with CONNACK 0x9F (Connection
     rate exceeded), at once, and another address is not affected.

Before: one introspection request per CONNECT, whatever the token.
"""

import http.client
import http.server
import os
import secrets
import ssl
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ace_security_harness import (CONNACK, NOT_AUTHORIZED, MqttClient,  # noqa: E402
                                  SecurityEnvironment, b64url, started, token_only)

CONNECTION_RATE_EXCEEDED = 0x9F
BURST = 4
ATTACK_CONNECTS = 24


class CountingProxy:
    """An HTTPS reverse proxy in front of the AS, with the AS's own certificate and key (so the
    broker's trust in the AS is unchanged), counting the introspection requests it forwards."""

    def __init__(self, as_url, certificate, key):
        proxy = self
        self.introspections = 0
        self.lock = threading.Lock()
        upstream = as_url.split("://", 1)[1]
        upstream_context = ssl.create_default_context(cafile=certificate)
        upstream_context.check_hostname = False  # the chain is verified

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *unused):
                pass

            def do_GET(self):
                self.forward()

            def do_POST(self):
                if self.path.split("?", 1)[0].endswith("/introspect"):
                    with proxy.lock:
                        proxy.introspections += 1
                self.forward()

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                connection = http.client.HTTPSConnection(upstream, context=upstream_context,
                                                         timeout=30)
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.introspections

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ProxiedEnvironment(SecurityEnvironment):
    """The security environment with the broker talking to the AS through a CountingProxy."""

    def __init__(self, settings):
        super().__init__(settings)
        self.proxy = None

    def start_broker(self):
        if self.proxy is None:
            self.proxy = CountingProxy(self.as_url, self.as_certificate,
                                       os.path.join(os.path.dirname(self.as_certificate),
                                                    "server.key"))
            self.as_url = self.proxy.url
        super().start_broker()

    def stop(self):
        super().stop()
        if self.proxy is not None:
            self.proxy.close()


ENV = None


def setUpModule():
    global ENV
    ENV = started(ProxiedEnvironment({
        "ace.introspection_address_burst": str(BURST),
        "ace.introspection_address_rate": "0.01",
    }))


def tearDownModule():
    ENV.stop()


def reference_shaped():
    """A token in the shape of the AS's reference handles: base64url of 32 random bytes."""
    return b64url(secrets.token_bytes(32))


def connect_with(token, source="127.0.0.1"):
    """The CONNACK reason of an MQTT 5 ace CONNECT carrying only `token` (RFC 9431 2.2.4.2.2)."""
    client = MqttClient(ENV, source=source)
    try:
        client.connect("amplifier-" + secrets.token_hex(4), method="ace", data=token_only(token))
        packet = client.read()
        if packet is None or packet.kind != CONNACK:
            raise AssertionError("expected CONNACK, got %r\n%s" % (packet, ENV.logs()))
        return packet.reason
    finally:
        client.close()


class IntrospectionAmplification(unittest.TestCase):
    # The tests share the broker (and its per-address buckets): they run in name order.

    def test_a_tokens_the_as_cannot_have_issued_cost_no_introspection(self):
        before = ENV.proxy.count()
        for token in (b64url(secrets.token_bytes(24)),   # too short
                      b64url(secrets.token_bytes(48)),   # too long
                      reference_shaped() + "=",          # padded
                      reference_shaped()[:-1] + "~"):    # not base64url
            self.assertEqual(connect_with(token, source="127.0.0.3"), NOT_AUTHORIZED, token)
        self.assertEqual(ENV.proxy.count() - before, 0,
                         "introspection requests for tokens of another shape\n" + ENV.logs())

    def test_b_a_token_the_as_called_inactive_is_refused_from_memory(self):
        token = reference_shaped()
        before = ENV.proxy.count()
        for _ in range(6):
            self.assertEqual(connect_with(token, source="127.0.0.4"), NOT_AUTHORIZED)
        self.assertEqual(ENV.proxy.count() - before, 1,
                         "introspection requests for one inactive token presented 6 times\n"
                         + ENV.logs())

    def test_c_new_tokens_from_one_address_are_rate_limited(self):
        before = ENV.proxy.count()
        reasons = [connect_with(reference_shaped()) for _ in range(ATTACK_CONNECTS)]
        asked = ENV.proxy.count() - before
        self.assertLessEqual(asked, BURST,
                             "%d CONNECTs with new reference tokens made %d introspection "
                             "requests\n%s" % (ATTACK_CONNECTS, asked, ENV.logs()))
        self.assertEqual(reasons[:BURST], [NOT_AUTHORIZED] * BURST)
        self.assertEqual(reasons[BURST:], [CONNECTION_RATE_EXCEEDED] * (ATTACK_CONNECTS - BURST))
        # Another address still has its own budget.
        self.assertEqual(connect_with(reference_shaped(), source="127.0.0.2"), NOT_AUTHORIZED)
        self.assertEqual(ENV.proxy.count() - before, asked + 1)


if __name__ == "__main__":
    unittest.main()
