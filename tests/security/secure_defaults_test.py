#!/usr/bin/env python3
"""Secure defaults: what the broker does on its embedded defaults (the development deployment of
`make run`), driven as a stranger on the network would.

* The listeners bind 127.0.0.1 only: a broker started on defaults is not reachable from other
  machines.
* An anonymous client reaches the public subtree "public/#" and nothing else: it may publish and
  subscribe there, its SUBSCRIBE to "#" or to another subtree and its QoS 1 PUBLISH elsewhere are
  refused (0x87), and it receives nothing published elsewhere.
* The `ace` method is refused over plain TCP (RFC 9431 2.2.1: MUST mutually authenticate; 2.2:
  over TLS) unless ace.allow_plain_tcp is set, and that setting, like anonymous access to
  everything, is warned about at start.

Before this, the defaults bound 0.0.0.0 and gave anonymous clients every topic.
"""

import base64
import json
import os
import re
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import security_harness as security  # noqa: E402
from security_harness import V5, RawClient  # noqa: E402

NOT_AUTHORIZED = 0x87


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issuer_keys_file(directory):
    """A JWK Set with one fresh Ed25519 public key: enough to enable the ACE provider."""
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    path = os.path.join(directory, "issuer-keys.json")
    with open(path, "w") as out:
        json.dump({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64url(key), "kid": "k1",
                             "alg": "EdDSA", "use": "sig"}]}, out)
    return path


class SecureDefaults(unittest.TestCase):
    def test_listeners_bind_loopback_only(self):
        with security.Broker(embedded_defaults=True) as broker:
            self.assertEqual(broker.addresses, {"tcp": "127.0.0.1", "tls": "127.0.0.1"}, broker.log())

    def test_anonymous_clients_reach_the_public_subtree_only(self):
        with security.Broker(embedded_defaults=True) as broker:
            reader = RawClient(broker, V5)
            self.assertEqual(reader.connect("anonymous-reader").reason, 0)
            self.assertEqual(reader.subscribe("#"), NOT_AUTHORIZED)
            self.assertEqual(reader.subscribe("demo/#"), NOT_AUTHORIZED)
            self.assertEqual(reader.subscribe("public/#"), 1)
            writer = RawClient(broker, V5)
            self.assertEqual(writer.connect("anonymous-writer").reason, 0)
            self.assertEqual(writer.publish("demo/secret", b"not for strangers"), NOT_AUTHORIZED)
            self.assertEqual(writer.publish("public/hello", b"hi"), 0)
            # The one message that arrives is the public one: the refused one was never routed.
            received = reader.receive_publish()
            self.assertEqual((received.topic, received.payload), ("public/hello", b"hi"))
            self.assertIn("insecure: anonymous clients are accepted (auth.allow_anonymous) on public/#",
                          broker.log())
            reader.close()
            writer.close()

    def test_ace_is_refused_over_plain_tcp_unless_allowed(self):
        directory = tempfile.mkdtemp(prefix="acemq-defaults-")
        keys = issuer_keys_file(directory)
        ace = ("ace.enabled=true", "ace.audience=acemq-broker", "ace.keys_file=" + keys)
        with security.Broker(*ace, embedded_defaults=True) as broker:
            client = RawClient(broker, V5)
            connack = client.connect("ace-over-tcp", auth_method="ace")
            self.assertEqual(connack.reason, NOT_AUTHORIZED, broker.log())
            broker.wait_for_output(r"ace: authentication refused: tls_required")
            client.close()
        with security.Broker(*ace, "ace.allow_plain_tcp=true", embedded_defaults=True) as broker:
            self.assertTrue(any(re.search(r"insecure: the ace method is accepted over plain TCP", line)
                                for line in broker.output), broker.log())

    def test_anonymous_access_to_everything_is_warned_about(self):
        with security.Broker('auth.anonymous_topics=["#"]', embedded_defaults=True) as broker:
            broker.wait_for_output(r"insecure: anonymous clients may publish and subscribe everywhere")


if __name__ == "__main__":
    unittest.main(verbosity=2)
