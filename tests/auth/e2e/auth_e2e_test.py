"""End-to-end: the auth providers in a real broker process (auth_e2e_broker: acemq-broker's
start-up with the acemq_auth providers) driven by mosquitto_pub and Python paho-mqtt over TCP and
TLS: passwords, client certificates with a CRL, and device-signed JWTs in the password.

Waits are on events (CONNACK, message arrival, disconnection), never on sleeps."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import jwt
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.environ["ACEMQ_E2E_HARNESS_DIR"])
from harness import Broker  # noqa: E402

# The broker under test, and the program exposing the passwd/device commands (the same one
# unless ACEMQ_AUTH_TOOL names another).
BROKER = os.environ["ACEMQ_BROKER"]
AUTH_TOOL = os.environ.get("ACEMQ_AUTH_TOOL") or BROKER
AUDIENCE = "mqtts://acemq.test"
WAIT = 15


def tool(*arguments, stdin=None):
    """Runs the test broker's passwd/device command; returns (exit code, output)."""
    done = subprocess.run([AUTH_TOOL, *arguments], input=stdin, capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout + done.stderr


def mosquitto_pub(port, *arguments):
    done = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                           "-m", "hello", *arguments], capture_output=True, text=True,
                          timeout=30)
    return done.returncode, done.stdout + done.stderr


class paho_client:
    """A paho-mqtt 3.1.1 client whose CONNACK, messages and disconnection are events."""

    def __init__(self, port, client_id, username=None, password=None, ca=None):
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.subscribed = threading.Event()
        self.received = threading.Event()
        self.return_code = None
        self.granted = None
        self.messages = []
        self.client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca:
            self.client.tls_set(ca_certs=ca)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *unused: self.disconnected.set()
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("localhost" if ca else "127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc):
        self.return_code = rc
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, granted):
        self.granted = granted
        self.subscribed.set()

    def _on_message(self, client, userdata, message):
        self.messages.append((message.topic, message.payload))
        self.received.set()

    def wait_connack(self):
        assert self.connected.wait(WAIT), "no CONNACK"
        return self.return_code

    def subscribe(self, topic_filter):
        self.subscribed.clear()
        self.client.subscribe(topic_filter, qos=1)
        assert self.subscribed.wait(WAIT), "no SUBACK"
        return self.granted[0]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class fixture(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="acemq-auth-e2e-")
        self.brokers = []
        self.clients = []

    def tearDown(self):
        for each in self.clients:
            each.close()
        for broker in self.brokers:
            code = broker.stop()
            broker.close()
            self.assertEqual(code, 0, "broker exit code %d" % code)
        shutil.rmtree(self.directory, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.directory, name)

    def write(self, name, text):
        with open(self.path(name), "w") as out:
            out.write(text)
        return self.path(name)

    def start(self, *overrides):
        # Anonymous access off, so a client no provider vouches for is refused (deny_all).
        broker = Broker("auth.allow_anonymous=false", *overrides)
        self.brokers.append(broker)
        return broker

    def paho(self, *arguments, **keywords):
        client = paho_client(*arguments, **keywords)
        self.clients.append(client)
        return client


class passwords(fixture):
    def test_password_file_acl_and_wrong_password(self):
        code, output = tool("passwd", self.path("passwd"), "add", "alice", stdin="wonderland\n")
        self.assertEqual(code, 0, output)
        self.assertNotIn("wonderland", output)
        self.assertEqual(tool("passwd", self.path("passwd"), "verify", "alice",
                              stdin="wonderland\n")[0], 0)
        self.write("acl", "user alice\ntopic readwrite alice/#\n")
        broker = self.start("auth.password_file=" + self.path("passwd"),
                            "auth.acl_file=" + self.path("acl"))

        subscriber = self.paho(broker.tcp_port, "sub-" + uuid.uuid4().hex[:6], "alice",
                               "wonderland")
        self.assertEqual(subscriber.wait_connack(), 0)
        self.assertEqual(subscriber.subscribe("alice/#"), 1)
        self.assertEqual(subscriber.subscribe("bob/#"), 0x80)  # 3.1.1 SUBACK failure

        code, output = mosquitto_pub(broker.tcp_port, "-i", "pub-1", "-u", "alice", "-P",
                                     "wonderland", "-t", "alice/news")
        self.assertEqual(code, 0, output)
        self.assertTrue(subscriber.received.wait(WAIT), "the publication did not arrive")
        self.assertEqual(subscriber.messages[0], ("alice/news", b"hello"))

        code, output = mosquitto_pub(broker.tcp_port, "-i", "pub-2", "-u", "alice", "-P",
                                     "wonderlan", "-t", "alice/news")
        self.assertNotEqual(code, 0, output)
        wrong = self.paho(broker.tcp_port, "pub-3", "alice", "guess")
        self.assertEqual(wrong.wait_connack(), 4)  # bad user name or password
        unknown = self.paho(broker.tcp_port, "pub-4", "mallory", "guess")
        self.assertEqual(unknown.wait_connack(), 4)


class certificates(fixture):
    def setUp(self):
        super().setUp()
        self.pki = self.path("pki")
        subprocess.run([os.environ["ACEMQ_DEV_PKI"], self.pki], check=True,
                       stdout=subprocess.DEVNULL)
        self.ca = os.path.join(self.pki, "ca.pem")
        self.client_cert = os.path.join(self.pki, "client.pem")
        self.client_key = os.path.join(self.pki, "client.key")
        self.write("acl", "pattern readwrite devices/%u/#\n")

    def tls_overrides(self):
        return ["listener.tls.certificate=" + os.path.join(self.pki, "server.pem"),
                "listener.tls.key=" + os.path.join(self.pki, "server.key"),
                "listener.tls.ca=" + self.ca,
                "auth.certificates=true", "auth.acl_file=" + self.path("acl")]

    def publish_with_certificate(self, broker):
        return mosquitto_pub(broker.tls_port, "-i", "cert-1", "--cafile", self.ca, "--cert",
                             self.client_cert, "--key", self.client_key, "-t",
                             "devices/acemq-dev-client/state")

    def test_client_certificate_identity(self):
        broker = self.start(*self.tls_overrides(), "auth.certificate.require_tls13=true")
        code, output = self.publish_with_certificate(broker)
        self.assertEqual(code, 0, output)
        # Without a certificate (and without a password) nobody vouches for the client.
        code, output = mosquitto_pub(broker.tls_port, "-i", "nocert", "--cafile", self.ca, "-t",
                                     "devices/x/state")
        self.assertNotEqual(code, 0, output)

    def test_revoked_certificate_is_refused(self):
        self.write(os.path.join(self.pki, "ca.cnf"),
                   "[ ca ]\ndefault_ca = test_ca\n[ test_ca ]\ndatabase = index.txt\n"
                   "crlnumber = crlnumber\ncertificate = ca.pem\nprivate_key = ca.key\n"
                   "default_md = sha256\ndefault_crl_days = 30\n")
        self.write(os.path.join(self.pki, "index.txt"), "")
        self.write(os.path.join(self.pki, "crlnumber"), "01\n")
        for command in (["openssl", "ca", "-config", "ca.cnf", "-revoke", "client.pem"],
                        ["openssl", "ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"]):
            subprocess.run(command, cwd=self.pki, check=True, capture_output=True)
        broker = self.start(*self.tls_overrides(),
                            "auth.certificate.crl_file=" + os.path.join(self.pki, "crl.pem"),
                            "auth.certificate.crl_issuer_file=" + self.ca)
        code, output = self.publish_with_certificate(broker)
        self.assertNotEqual(code, 0, output)


class device_jwts(fixture):
    def setUp(self):
        super().setUp()
        self.key = Ed25519PrivateKey.generate()
        public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.write("dev.pub.pem", public_pem.decode())
        self.registry = self.path("devices.db")
        self.write("acl", "pattern readwrite devices/%u/#\n")
        self.pki = self.path("pki")
        subprocess.run([os.environ["ACEMQ_DEV_PKI"], self.pki], check=True,
                       stdout=subprocess.DEVNULL)
        self.ca = os.path.join(self.pki, "ca.pem")

    def register(self, device, policy):
        code, output = tool("device", self.registry, "add", device, policy)
        self.assertEqual(code, 0, output)
        code, output = tool("device", self.registry, "add-key", device, self.path("dev.pub.pem"))
        self.assertEqual(code, 0, output)

    def mint(self, iat=None, lifetime=600, **claims):
        iat = int(time.time()) if iat is None else iat
        body = {"aud": AUDIENCE, "iat": iat, "exp": iat + lifetime, **claims}
        return jwt.encode(body, self.key, algorithm="EdDSA")

    def start_broker(self):
        return self.start("listener.tls.certificate=" + os.path.join(self.pki, "server.pem"),
                          "listener.tls.key=" + os.path.join(self.pki, "server.key"),
                          "listener.tls.ca=" + self.ca,
                          "auth.device_registry=" + self.registry,
                          "auth.device_jwt.audience=" + AUDIENCE,
                          "auth.acl_file=" + self.path("acl"))

    def publish(self, broker, device, token):
        return mosquitto_pub(broker.tls_port, "--cafile", self.ca, "-i", device, "-u", device,
                             "-P", token, "-t", "devices/%s/state" % device)

    def test_jti_policy_refuses_a_replayed_jwt(self):
        self.register("dev-jti", "jti")
        broker = self.start_broker()
        token = self.mint(jti=uuid.uuid4().hex)
        code, output = self.publish(broker, "dev-jti", token)
        self.assertEqual(code, 0, output)
        code, output = self.publish(broker, "dev-jti", token)  # captured and replayed
        self.assertNotEqual(code, 0, output)
        code, output = self.publish(broker, "dev-jti", self.mint(jti=uuid.uuid4().hex))
        self.assertEqual(code, 0, output)

    def test_claims_are_checked(self):
        self.register("dev-legacy", "legacy")
        broker = self.start_broker()
        now = int(time.time())
        self.assertNotEqual(self.publish(broker, "dev-legacy", self.mint(iat=now + 3600))[0], 0)
        self.assertNotEqual(self.publish(broker, "dev-legacy",
                                         self.mint(lifetime=48 * 3600))[0], 0)
        wrong_audience = jwt.encode({"aud": "other", "iat": now, "exp": now + 600}, self.key,
                                    algorithm="EdDSA")
        self.assertNotEqual(self.publish(broker, "dev-legacy", wrong_audience)[0], 0)
        self.assertNotEqual(self.publish(broker, "dev-unknown", self.mint())[0], 0)
        # paho-mqtt, MQTT 3.1.1, JWT in the password.
        client = self.paho(broker.tls_port, "dev-legacy", "dev-legacy", self.mint(), ca=self.ca)
        self.assertEqual(client.wait_connack(), 0)

    def test_nonce_policy_refuses_an_unbound_jwt_over_mqtt311(self):
        self.register("dev-nonce", "nonce")
        broker = self.start_broker()
        code, output = self.publish(broker, "dev-nonce", self.mint())
        self.assertNotEqual(code, 0, output)

    def test_nonce_challenge_with_mqttjs(self):
        node = os.environ.get("ACEMQ_NODE")
        if not node:
            self.skipTest("node is not installed")
        self.register("dev-v5", "nonce")
        key_file = self.write("dev.key.pem", self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode())
        broker = self.start_broker()
        environment = dict(os.environ, ACEMQ_TLS_PORT=str(broker.tls_port), ACEMQ_CA=self.ca,
                           ACEMQ_DEVICE_ID="dev-v5", ACEMQ_DEVICE_KEY=key_file,
                           ACEMQ_AUDIENCE=AUDIENCE)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqttjs_device_jwt.mjs")
        done = subprocess.run([node, script], capture_output=True, text=True, timeout=120,
                              env=environment)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("3 scenarios passed", done.stdout)

    def test_connection_closed_when_the_jwt_expires(self):
        self.register("dev-exp", "legacy")
        broker = self.start_broker()
        client = self.paho(broker.tls_port, "dev-exp", "dev-exp", self.mint(lifetime=3),
                           ca=self.ca)
        self.assertEqual(client.wait_connack(), 0)
        self.assertTrue(client.disconnected.wait(WAIT), "not disconnected at exp")


if __name__ == "__main__":
    unittest.main()
