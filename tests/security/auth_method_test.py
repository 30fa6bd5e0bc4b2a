"""Security: an Authentication Method no provider supports [MQTT-4.12.0-1].

"If the Server does not support the Authentication Method supplied by the Client, it MAY send a
CONNACK with a Reason Code of 0x8C (Bad authentication method) or 0x87 (Not Authorized) ... and
MUST close the Network Connection" - acemq's rule is the precise one: a method nobody implements
is 0x8C Bad authentication method, whatever provider ends the chain, so a client (or an attacker
probing which methods exist) learns the method is not supported rather than that it was refused,
and no provider further down the chain (anonymous, public topics, deny_all) ever answers for an
exchange it does not understand.

Each test sends an MQTT 5 CONNECT with Authentication Method "SCRAM-SHA-999" over a raw socket and
expects CONNACK 0x8C and the connection closed, with:

* test_default_chain: the embedded defaults (auth.allow_anonymous = true);
* test_without_anonymous: auth.allow_anonymous = false (the chain ends in deny_all);
* test_without_anonymous_with_password_credentials: the same with a password file, and a valid
  User Name and Password in the CONNECT next to the method;
* test_with_ace: ace.enabled (audience and a JWK Set with one generated Ed25519 public key), over
  TCP and over TLS (where the chain also holds public_topics_only).
"""

import base64
import json
import os
import sys
import unittest
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from security_harness import (V5, Broker, RawClient, Workspace, client_tls_context,  # noqa: E402
                              describe, write_file)

METHOD = "SCRAM-SHA-999"
BAD_AUTHENTICATION_METHOD = 0x8C
PASSWORD = uuid.uuid4().hex


def jwk_set_with_one_ed25519_key():
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(public).rstrip(b"=").decode()
    return json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA",
                                 "use": "sig", "kid": "security-test-as"}]})


class auth_method(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workspace = Workspace(users={"alice": PASSWORD})

    @classmethod
    def tearDownClass(cls):
        cls.workspace.close()

    def setUp(self):
        self.clients = []
        self.broker = None
        self.data_dir = self.workspace.fresh()

    def tearDown(self):
        for each in self.clients:
            each.close()
        if self.broker:
            code = self.broker.stop()
            self.broker.close()
            self.assertEqual(code, 0, "broker exit code %d" % code)

    def start(self, *overrides):
        self.broker = Broker("log.level=debug", *overrides, data_dir=self.data_dir)

    def assert_bad_method(self, tls=None, **credentials):
        client = RawClient(self.broker, V5, tls=tls)
        self.clients.append(client)
        connack = client.connect("method-" + uuid.uuid4().hex[:8], auth_method=METHOD,
                                 **credentials)
        after = client.read_until_closed() if connack.reason >= 0x80 else []
        self.assertEqual(connack.reason, BAD_AUTHENTICATION_METHOD,
                         "CONNECT with Authentication Method %r%s: expected CONNACK 0x8C Bad "
                         "authentication method, got %s"
                         % (METHOD, " over TLS" if tls else "", connack))
        self.assertEqual(describe(after), "[]", "the connection must close after the CONNACK")

    def test_default_chain(self):
        self.start()
        self.assert_bad_method()

    def test_without_anonymous(self):
        self.start("auth.allow_anonymous=false")
        self.assert_bad_method()

    def test_without_anonymous_with_password_credentials(self):
        self.start("auth.allow_anonymous=false",
                   "auth.password_file=" + os.path.join(self.data_dir, "passwd"))
        self.assert_bad_method(username="alice", password=PASSWORD)

    def test_with_ace(self):
        keys = os.path.join(self.data_dir, "as-keys.jwks")
        write_file(keys, jwk_set_with_one_ed25519_key())
        self.start("ace.enabled=true", "ace.audience=acemq-broker", "ace.keys_file=" + keys)
        self.broker.wait_for_output(r"authentication chain: ace\b")  # the ACE provider is on
        with self.subTest(transport="tcp"):
            self.assert_bad_method()
        with self.subTest(transport="tls"):
            self.assert_bad_method(tls=client_tls_context(self.broker, certificate=False))


if __name__ == "__main__":
    unittest.main()
