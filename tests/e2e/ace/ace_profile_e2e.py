#!/usr/bin/env python3
"""End to end: the MQTT-TLS profile of ACE (RFC 9431) with the real binaries.

acemq-as issues the tokens, acemq-broker is the resource server trusting that AS (/jwks, /trl,
its own decryption key for the symmetric PoP keys), and the `acemq` CLI publishes and subscribes
with proof of possession over the TLS exporter and by challenge/response, in MQTT 5 and 3.1.1.
Refusals: a publish outside the token's scope, a token for another audience.

Every wait is on an event (a line of process output, a process exit), never on a sleep.

Environment (set by CTest, see CMakeLists.txt):
  ACEMQ_AS, ACEMQ_BROKER, ACEMQ_CLIENT  the three executables
  ACEMQ_DEV_PKI                         scripts/dev-pki
  ACEMQ_NODE, ACEMQ_NODE_PROJECT        optional: node and tests/node (MQTT.js) for the
                                        independent client
"""

import base64
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import jwt

AUDIENCE = "acemq-broker"
OTHER_AUDIENCE = "other-service"
ISSUER = "https://acemq-as.test"
CLIENT_ID = "demo-device"
CLIENT_SECRET = "demo-secret-1"
RS_SECRET = "rs-secret-1"
# The key the AS encrypts symmetric PoP keys to (RFC 7800 3.3 cnf.jwe); the broker holds it too.
ENCRYPTION_KEY = {"kty": "oct", "k": base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()}
START_TIMEOUT = 60
STEP_TIMEOUT = 60
LISTENING = re.compile(r"^acemq-broker: listening (\S+) \((tcp|tls)\) on (\S+):(\d+)$")


class ProcessOutput:
    """A process whose merged stdout/stderr is read by a thread, so tests can wait on lines."""

    def __init__(self, command, **kwargs):
        self.command = command
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1, **kwargs)
        self.lines = queue.Queue()
        self.output = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)  # end of output: the process exited

    def wait_for(self, pattern, timeout=STEP_TIMEOUT):
        """Blocks until an output line matches `pattern`; returns the match."""
        expression = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise TimeoutError("no line matching %r from %s:\n%s" % (pattern, self.command[0], self.log()))
            if line is None:
                self.lines.put(None)
                raise RuntimeError("%s exited (%s) before %r:\n%s" %
                                   (self.command[0], self.process.wait(), pattern, self.log()))
            found = expression.search(line)
            if found:
                return found

    def finish(self, timeout=STEP_TIMEOUT):
        """Waits for the process to exit on its own; returns (exit code, output)."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code, self.log()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        self.process.stdout.close()

    def log(self):
        return "\n".join(self.output)


class Environment:
    """The AS and the broker of one test run, in a temporary directory."""

    def __init__(self, extra_settings=None):
        self.root = tempfile.mkdtemp(prefix="acemq-ace-e2e-")
        self.as_process = None
        self.broker = None
        # Broker --set overrides of a sibling script, given as a function of this environment
        # (they may name files under it or the AS address).
        self.extra_settings = extra_settings
        # Arguments of acemq-as before "serve" (e.g. "--config", FILE) of a sibling script.
        self.as_arguments = []

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, name, text, mode=0o600):
        path = self.path(name)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path

    def as_admin(self, *arguments):
        result = subprocess.run([os.environ["ACEMQ_AS"], "--data-dir", self.path("as"), "admin", *arguments],
                                capture_output=True, text=True, timeout=STEP_TIMEOUT)
        if result.returncode != 0:
            raise RuntimeError("acemq-as admin %s: %s%s" % (" ".join(arguments), result.stdout, result.stderr))

    def start(self):
        subprocess.run([os.environ["ACEMQ_DEV_PKI"], self.path("pki")], check=True, stdout=subprocess.DEVNULL,
                       timeout=STEP_TIMEOUT)
        os.makedirs(self.path("as"))
        self.as_admin("rs", "create", AUDIENCE, "--secret", RS_SECRET, "--encryption-key",
                      json.dumps(ENCRYPTION_KEY))
        self.as_admin("rs", "create", OTHER_AUDIENCE, "--secret", "other-secret")
        self.as_admin("client", "create", CLIENT_ID, "--secret", CLIENT_SECRET)
        self.as_admin("owner", "create", "demo-owner", "--secret", "owner-secret",
                      "--subtree", AUDIENCE + "=demo/#", "--subtree", OTHER_AUDIENCE + "=demo/#")
        for audience in (AUDIENCE, OTHER_AUDIENCE):
            self.as_admin("grant", "create", "--owner", "demo-owner", "--client", CLIENT_ID,
                          "--audience", audience, "--filter", "demo/#", "--permissions", "pub,sub",
                          "--lifetime", "86400")
        self.as_process = ProcessOutput([os.environ["ACEMQ_AS"], "--data-dir", self.path("as"), *self.as_arguments,
                                         "serve", "--port", "0", "--issuer", ISSUER])
        # "acemq-as listening on https://127.0.0.1:PORT issuer ISSUER certificate FILE"
        ready = self.as_process.wait_for(r"listening on (https://\S+) issuer \S+ certificate (\S+)",
                                         START_TIMEOUT)
        self.as_url, self.as_certificate = ready.group(1), ready.group(2)
        self.start_broker()

    def start_broker(self):
        pki = self.path("pki")
        decryption_keys = self.write("broker-decryption-keys.json", json.dumps({"keys": [ENCRYPTION_KEY]}))
        secret = self.write("broker-as-secret", RS_SECRET + "\n")
        # A TLS listener only: the ACE profile runs over TLS (RFC 9431 2.2).
        config = self.write("broker.toml", "\n".join([
            "[[listener]]",
            'name = "tls"',
            'type = "tls"',
            'address = "127.0.0.1"',
            "port = 0",
            'certificate = "%s"' % os.path.join(pki, "server.pem"),
            'key = "%s"' % os.path.join(pki, "server.key"),
            "",
        ]), 0o644)
        self.port_file = self.path("broker-ports")
        settings = {
            "server.threads": "2",
            "auth.allow_anonymous": "false",
            "ace.enabled": "true",
            "ace.audience": AUDIENCE,
            "ace.issuer": ISSUER,
            "ace.decryption_keys_file": decryption_keys,
            "ace.as.base_url": self.as_url,
            "ace.as.ca_file": self.as_certificate,
            "ace.as.client_id": AUDIENCE,
            "ace.as.client_secret_file": secret,
        }
        if self.extra_settings:
            settings.update(self.extra_settings(self))
        command = [os.environ["ACEMQ_BROKER"], "--config", config, "--data-dir", self.path(),
                   "--port-file", self.port_file]
        for key, value in settings.items():
            command += ["--set", "%s=%s" % (key, value)]
        self.broker = ProcessOutput(command)
        listening = self.broker.wait_for(LISTENING.pattern, START_TIMEOUT)
        # The listener is bound when the line appears (connections wait in the backlog); the port
        # file follows it and is checked once a connection has been served.
        self.broker_port = int(listening.group(4))

    def stop(self):
        for process in (self.broker, self.as_process):
            if process:
                process.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self):
        return "--- broker ---\n%s\n--- AS ---\n%s" % (
            self.broker.log() if self.broker else "", self.as_process.log() if self.as_process else "")


ENV = None


def setUpModule():
    global ENV
    ENV = Environment()
    try:
        ENV.start()
    except Exception:
        ENV.stop()
        raise


def tearDownModule():
    ENV.stop()


def client(*arguments):
    return [os.environ["ACEMQ_CLIENT"], *arguments]


def token_get(name, audience=AUDIENCE, *extra):
    """`acemq token get` into a credentials file; returns its path."""
    out = ENV.path(name)
    result = subprocess.run(client("token", "get", "--as", ENV.as_url, "--as-cafile", ENV.as_certificate,
                                   "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
                                   "--audience", audience, "--scope", '[["demo/#",["pub","sub"]]]',
                                   "--out", out, *extra),
                            capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError("acemq token get: " + result.stdout + result.stderr)
    return out


def broker_flags(credentials, mqtt, pop):
    flags = ["-h", "127.0.0.1", "-p", str(ENV.broker_port), "--cafile", ENV.path("pki", "ca.pem"),
             "--credentials", credentials, "--mqtt", mqtt]
    if pop:
        flags += ["--pop", pop]
    return flags


def publish(credentials, mqtt, pop, topic, message, qos=1):
    return subprocess.run(client("pub", *broker_flags(credentials, mqtt, pop), "-t", topic, "-m", message,
                                 "-q", str(qos)),
                          capture_output=True, text=True, timeout=STEP_TIMEOUT)


class AceProfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.symmetric = token_get("symmetric.json")
        key = ENV.path("device.pem")
        keygen = subprocess.run(client("token", "keygen", "--type", "ed25519", "--out", key),
                                capture_output=True, text=True, timeout=STEP_TIMEOUT)
        if keygen.returncode != 0:
            raise RuntimeError("acemq token keygen: " + keygen.stderr)
        cls.ed25519 = token_get("ed25519.json", AUDIENCE, "--key", key)

    def run_flow(self, credentials, mqtt, pop, subscriber_mqtt="5", subscriber_pop="exporter"):
        """A subscriber on demo/# and a publisher on demo/x; the message must arrive."""
        message = "hello-%s-%s-%d" % (mqtt, pop, time.monotonic_ns())
        subscriber = ProcessOutput(client("sub", *broker_flags(credentials, subscriber_mqtt, subscriber_pop),
                                          "-t", "demo/#", "-q", "1", "-C", "1"))
        try:
            subscriber.wait_for(r"^subscribed$")
            published = publish(credentials, mqtt, pop, "demo/x", message)
            self.assertEqual(published.returncode, 0,
                             published.stdout + published.stderr + "\n" + ENV.logs())
            subscriber.wait_for(r"^demo/x " + re.escape(message) + "$")
            code, output = subscriber.finish()
            self.assertEqual(code, 0, output)
        finally:
            subscriber.stop()

    def test_v5_exporter(self):
        self.run_flow(self.symmetric, "5", "exporter", "5", "exporter")

    def test_v5_challenge(self):
        self.run_flow(self.symmetric, "5", "challenge", "5", "challenge")

    def test_v311_exporter(self):
        # RFC 9431 6: username "ace" + base64url(token), password = PoP over the exporter.
        self.run_flow(self.symmetric, "3.1.1", "exporter", "3.1.1", "exporter")

    def test_ed25519_key_v5_both_methods(self):
        # RFC 9431 2.2.4.1: Ed25519 PoP keys are mandatory to support.
        self.run_flow(self.ed25519, "5", "exporter", "5", "challenge")

    def test_publish_outside_scope_is_refused(self):
        # RFC 9431 2.2.5: PUBACK 0x87 for a topic the scope does not allow.
        refused = publish(self.symmetric, "5", "exporter", "private/x", "nope")
        self.assertNotEqual(refused.returncode, 0, refused.stdout + refused.stderr)
        self.assertIn("not_authorized", refused.stderr)
        # RFC 9431 6.2: MQTT 3.1.1 has no PUBACK reason; the broker disconnects the client.
        refused = publish(self.symmetric, "3.1.1", "exporter", "private/x", "nope")
        self.assertNotEqual(refused.returncode, 0, refused.stdout + refused.stderr)
        self.assertIn("server_disconnected", refused.stderr)

    def test_subscriber_outside_scope_gets_nothing(self):
        # A refused publish never reaches a subscriber; the next in-scope message does.
        subscriber = ProcessOutput(client("sub", *broker_flags(self.symmetric, "5", "exporter"),
                                          "-t", "demo/#", "-q", "1", "-C", "1"))
        try:
            subscriber.wait_for(r"^subscribed$")
            refused = publish(self.symmetric, "5", "challenge", "private/x", "secret")
            self.assertNotEqual(refused.returncode, 0, refused.stdout + refused.stderr)
            allowed = publish(self.symmetric, "5", "challenge", "demo/after", "after")
            self.assertEqual(allowed.returncode, 0, allowed.stdout + allowed.stderr)
            subscriber.wait_for(r"^demo/after after$")
            code, output = subscriber.finish()
            self.assertEqual(code, 0, output)
            self.assertNotIn("secret", output)
        finally:
            subscriber.stop()

    def test_token_for_another_audience_is_refused(self):
        # RFC 9200 5.10.1.1: the broker checks aud; a token for another service is refused.
        other = token_get("other-audience.json", OTHER_AUDIENCE)
        with open(other) as handle:
            token = base64.urlsafe_b64decode(json.load(handle)["token"] + "==").decode()
        self.assertEqual(jwt.decode(token, options={"verify_signature": False})["aud"], OTHER_AUDIENCE)
        for mqtt, pop in (("5", "exporter"), ("5", "challenge"), ("3.1.1", "exporter")):
            with self.subTest(mqtt=mqtt, pop=pop):
                refused = publish(other, mqtt, pop, "demo/x", "wrong audience")
                self.assertNotEqual(refused.returncode, 0, refused.stdout + refused.stderr)
                # CONNACK 0x87 (v5) / return code 5 (3.1.1): no session at all.
                self.assertIn("connection_refused (not_authorized)", refused.stderr)

    def run_mqttjs(self, mode):
        """MQTT.js proves possession itself; an `acemq sub` subscriber receives its message."""
        message = "from-mqttjs-%s-%d" % (mode, time.monotonic_ns())
        subscriber = ProcessOutput(client("sub", *broker_flags(self.symmetric, "5", "exporter"),
                                          "-t", "demo/mqttjs-" + mode, "-q", "1", "-C", "1"))
        try:
            subscriber.wait_for(r"^subscribed$")
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqttjs_ace_client.mjs")
            node = subprocess.run([os.environ["ACEMQ_NODE"], script, mode, str(ENV.broker_port),
                                   ENV.path("pki", "ca.pem"), self.symmetric, message],
                                  capture_output=True, text=True, timeout=STEP_TIMEOUT)
            self.assertEqual(node.returncode, 0, node.stdout + node.stderr + "\n" + ENV.logs())
            self.assertIn("received demo/mqttjs-%s %s" % (mode, message), node.stdout)
            self.assertIn("refused private/x 135", node.stdout)
            subscriber.wait_for(r"^demo/mqttjs-%s %s$" % (mode, re.escape(message)))
            code, output = subscriber.finish()
            self.assertEqual(code, 0, output)
        finally:
            subscriber.stop()

    @unittest.skipUnless(os.environ.get("ACEMQ_NODE"), "node not found")
    def test_mqttjs_exporter(self):
        self.run_mqttjs("exporter")

    @unittest.skipUnless(os.environ.get("ACEMQ_NODE"), "node not found")
    def test_mqttjs_challenge(self):
        self.run_mqttjs("challenge")

    @unittest.skipUnless(os.environ.get("ACEMQ_NODE"), "node not found")
    def test_mqttjs_resumed_session_needs_a_proof_over_its_own_exporter(self):
        # A device reconnecting with TLS 1.3 resumption proves possession again, over the new
        # session's exporter; the proof of the session that issued the ticket is refused.
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqttjs_ace_client.mjs")
        node = subprocess.run([os.environ["ACEMQ_NODE"], script, "resumed", str(ENV.broker_port),
                               ENV.path("pki", "ca.pem"), self.symmetric, "unused"],
                              capture_output=True, text=True, timeout=STEP_TIMEOUT)
        self.assertEqual(node.returncode, 0, node.stdout + node.stderr + "\n" + ENV.logs())
        self.assertIn("replayed proof refused 135", node.stdout)
        self.assertIn("resumed connection accepted", node.stdout)

    def test_port_file_names_the_tls_listener(self):
        # The broker writes the port file before it serves its first connection.
        published = publish(self.symmetric, "5", "exporter", "demo/port-file", "x")
        self.assertEqual(published.returncode, 0, published.stdout + published.stderr)
        with open(ENV.port_file) as handle:
            self.assertEqual(handle.read(), "tls %d\n" % ENV.broker_port)

    @unittest.skipUnless(os.environ.get("ACEMQ_NODE"), "node not found")
    def test_mqttjs_wrong_proof_is_refused(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqttjs_ace_client.mjs")
        for mode in ("exporter-wrong-key", "exporter-other-session"):
            with self.subTest(mode=mode):
                node = subprocess.run([os.environ["ACEMQ_NODE"], script, mode, str(ENV.broker_port),
                                       ENV.path("pki", "ca.pem"), self.symmetric, "unused"],
                                      capture_output=True, text=True, timeout=STEP_TIMEOUT)
                self.assertEqual(node.returncode, 0, node.stdout + node.stderr + "\n" + ENV.logs())
                self.assertIn("refused connect 135", node.stdout)

    def test_token_is_for_this_broker(self):
        # The JWT the AS issued carries the issuer and audience the broker is configured with.
        with open(self.symmetric) as handle:
            token = base64.urlsafe_b64decode(json.load(handle)["token"] + "==").decode()
        claims = jwt.decode(token, options={"verify_signature": False})
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(claims["aud"], AUDIENCE)
        self.assertIn("jwe", claims["cnf"])  # RFC 7800 3.3: the symmetric key only encrypted


if __name__ == "__main__":
    unittest.main(verbosity=2)
