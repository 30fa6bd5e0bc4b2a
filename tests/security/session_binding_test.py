"""Security: session take-over across identities.

A session and its Client Identifier belong to the principal that created it. The principal is
the provider and the identity: for the password provider the user name, for a client certificate
the mapped identity (here the CN), and every anonymous client (auth.allow_anonymous) is the one
principal "anonymous" whatever User Name it sends, so an anonymous client sending the user name
"alice" without a password is not the password-checked alice.

The victim, alice, logs in with her password under the Client Identifier "alice-dev" with a
persistent session (MQTT 5: Clean Start 0 and Session Expiry Interval 300; MQTT 3.1.1: Clean
Session 0) and a Will on alice/will, subscribes to alice/# at QoS 1, and (over a raw socket that
never acknowledges it) holds one QoS 1 message in flight while a second one waits in her session
queue (broker.max_inflight = 1). The attacks, each in MQTT 5 and MQTT 3.1.1:

* test_*_resume_*: another principal CONNECTs with Client Identifier "alice-dev" and Clean Start
  0, hoping to take over alice's session and read her in-flight and queued messages (and to
  receive everything published to alice/# from then on). The broker must refuse it (CONNACK 0x87,
  3.1.1 return code 5) and close the connection; alice's connection must stay up (no DISCONNECT
  0x8E), she must keep receiving, and the attacker must receive none of her messages.
* test_*_clean_*: the same with Clean Start 1, hoping to end alice's session (and to make the
  broker publish her Will on her behalf). Refused the same way; alice's session is not ended and
  her Will is not published (a subscriber on alice/will receives a marker published after the
  refusal as its first message).

Attackers: "mallory", another password user (whom the ACL allows everywhere, so nothing but the
session binding can stop her); an anonymous client sending the user name "alice" and no password
(the broker allows anonymous clients and has a password file); a client presenting the
development client certificate (identity "acemq-dev-client") over TLS; a device registered under
the device id "alice-dev" (the device-JWT provider's identity is the device id, which is the
Client Identifier) signing its own JWT: a device is not the password user alice.

test_binding_survives_a_restart_*: the session is stored (persistence on, durability sync); the
broker is stopped and started again on the same database; mallory's Clean Start 0 CONNECT with
"alice-dev" must still be refused, and alice must still resume her session.

Controls and re-checks:

* test_owner_resumes_*: alice herself reconnecting with Clean Start 0 resumes (Session Present 1)
  and gets her in-flight message again (DUP) and then the queued one.
* test_resumption_rechecks_narrowed_rights_*: the same principal with narrower rights. alice,
  subscribed to alice/secret/# and alice/public/#, has a QoS 1 message on alice/secret/x in
  flight and messages on alice/secret (one retained) and alice/public queued when she goes
  offline; the ACL is changed to take away her read access to
  alice/secret/# and reloaded (SIGHUP). When she resumes she must not receive anything from
  alice/secret (not the in-flight message, not the queued ones, not the retained one), but still
  receives alice/public; subscribing to alice/secret/# again is refused and sends no retained
  message.
"""

import os
import signal
import sys
import unittest
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from abuse_harness import device_jwt, register_device  # noqa: E402
from security_harness import (NOT_AUTHORIZED, V311, V5, VERSION_NAME, Broker,  # noqa: E402
                              RawClient, Workspace, client_tls_context, describe, write_file)

PASSWORDS = {name: uuid.uuid4().hex for name in ("alice", "mallory", "svc")}
CLIENT_ID = "alice-dev"
WILL = ("alice/will", b"alice is gone", 1, False)
CERTIFICATE_IDENTITY = "acemq-dev-client"  # CN of scripts/dev-pki's client.pem

ACL = """\
user alice
topic readwrite alice/#
user mallory
topic readwrite #
user svc
topic readwrite #
user acemq-dev-client
topic readwrite #
"""

# alice loses read access to alice/secret/# (she may still publish there).
NARROWED_ACL = """\
user alice
topic readwrite alice/public/#
topic write alice/secret/#
user mallory
topic readwrite #
user svc
topic readwrite #
user acemq-dev-client
topic readwrite #
"""

ATTACKERS = {
    "mallory": "mallory, another password user",
    "anonymous": "an anonymous client sending user name 'alice' without a password",
    "certificate": "a client with the certificate of '%s'" % CERTIFICATE_IDENTITY,
    "device": "a device registered as '%s' with its own signed JWT" % CLIENT_ID,
}
DEVICE_AUDIENCE = "acemq-security-tests"
DEVICE_KEY = Ed25519PrivateKey.generate()


class session_binding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workspace = Workspace(users=PASSWORDS)

    @classmethod
    def tearDownClass(cls):
        cls.workspace.close()

    def setUp(self):
        self.data_dir = self.workspace.fresh()
        self.acl = os.path.join(self.data_dir, "acl")
        write_file(self.acl, ACL)
        registry = os.path.join(self.data_dir, "devices.db")
        if not os.path.exists(registry):
            register_device(registry, CLIENT_ID, DEVICE_KEY, "legacy")
        self.settings = (
            "auth.device_registry=" + registry,
            "auth.device_jwt.audience=" + DEVICE_AUDIENCE,
            "auth.password_file=" + os.path.join(self.data_dir, "passwd"),
            "auth.acl_file=" + self.acl,
            "auth.allow_anonymous=true",
            "auth.certificates=true",
            "auth.certificate.identity=cn",
            "listener.tls.client_certificates=optional",
            "broker.max_inflight=1",  # one QoS 1 message in flight, the next one queued
            "log.level=debug",
        )
        self.broker = Broker(*self.settings, data_dir=self.data_dir)
        self.clients = []

    def tearDown(self):
        for each in self.clients:
            each.close()
        code = self.broker.stop()
        self.broker.close()
        self.assertEqual(code, 0, "broker exit code %d" % code)

    # ---- helpers ----

    def raw(self, version=V5, tls=None):
        made = RawClient(self.broker, version, tls)
        self.clients.append(made)
        return made

    def service(self, version=V5):
        """A password user allowed everywhere: publishes the messages and watches topics."""
        made = self.raw(version)
        connack = made.connect("svc-" + uuid.uuid4().hex[:8], username="svc",
                               password=PASSWORDS["svc"])
        self.assertEqual(connack.reason, 0, "svc: %s" % (connack,))
        return made

    def alice_login(self, version, will=None):
        alice = self.raw(version)
        connack = alice.connect(CLIENT_ID, clean_start=False,
                                session_expiry=300 if version == V5 else None,
                                username="alice", password=PASSWORDS["alice"], will=will)
        return alice, connack

    def alice_with_messages(self, version, will=None):
        """alice online with one QoS 1 message in flight (unacknowledged) and one queued."""
        alice, connack = self.alice_login(version, will=will)
        self.assertEqual((connack.reason, connack.session_present), (0, 0), str(connack))
        self.assertEqual(alice.subscribe("alice/#", 1), 1)
        sender = self.service()
        self.assertEqual(sender.publish("alice/x", b"in flight"), 0)
        in_flight = alice.receive_publish(ack=False)
        self.assertEqual((in_flight.topic, in_flight.payload), ("alice/x", b"in flight"))
        # Its PUBACK comes after routing: the message is in alice's queue behind the first.
        self.assertEqual(sender.publish("alice/x", b"queued"), 0)
        return alice, sender, in_flight

    def attack(self, attacker, version, clean_start):
        """CONNECT with alice's Client Identifier as `attacker`; returns (client, connack)."""
        expiry = 300 if version == V5 else None
        if attacker == "mallory":
            client = self.raw(version)
            connack = client.connect(CLIENT_ID, clean_start=clean_start, session_expiry=expiry,
                                     username="mallory", password=PASSWORDS["mallory"])
        elif attacker == "anonymous":
            client = self.raw(version)
            connack = client.connect(CLIENT_ID, clean_start=clean_start, session_expiry=expiry,
                                     username="alice")
        elif attacker == "device":
            # The JWT in the Password (policy legacy: no challenge), a User Name beside it as
            # MQTT 3.1.1 requires.
            client = self.raw(version)
            connack = client.connect(CLIENT_ID, clean_start=clean_start, session_expiry=expiry,
                                     username=CLIENT_ID,
                                     password=device_jwt(DEVICE_KEY, CLIENT_ID, DEVICE_AUDIENCE))
        else:
            client = self.raw(version, tls=client_tls_context(self.broker))
            connack = client.connect(CLIENT_ID, clean_start=clean_start, session_expiry=expiry)
        return client, connack

    def assert_refused_and_closed(self, attacker, version, client, connack, evidence):
        """The attacker's CONNACK must be the refusal, then the connection closes with nothing
        else sent. When the broker admitted it, `evidence()` says what the attack achieved."""
        if connack.reason == 0:
            self.fail("%s (%s) was admitted to Client Identifier %r: %s; %s"
                      % (ATTACKERS[attacker], VERSION_NAME[version], CLIENT_ID, connack,
                         evidence()))
        self.assertEqual(connack.reason, NOT_AUTHORIZED[version],
                         "%s: expected the refusal 0x%02x, got %s"
                         % (ATTACKERS[attacker], NOT_AUTHORIZED[version], connack))
        self.assertEqual(connack.session_present, 0)
        self.assertEqual(describe(client.read_until_closed()), "[]",
                         "the refused connection must be closed with nothing sent after CONNACK")

    def assert_alice_undisturbed(self, alice, sender, in_flight):
        """alice's connection is still hers: she acknowledges the in-flight message, receives the
        queued one, then a new one (instead of DISCONNECT 0x8E Session taken over)."""
        alice.puback(in_flight.packet_id)
        queued = alice.receive_publish()
        self.assertEqual((queued.topic, queued.payload), ("alice/x", b"queued"))
        self.assertEqual(sender.publish("alice/x", b"after the attack"), 0)
        after = alice.receive_publish()
        self.assertEqual((after.topic, after.payload), ("alice/x", b"after the attack"))

    # ---- the attacks ----

    def take_over_with_resume(self, attacker, version):
        alice, sender, in_flight = self.alice_with_messages(version, will=WILL)
        client, connack = self.attack(attacker, version, clean_start=False)

        def evidence():
            stolen = client.read_for_a_while(1, ack=True)
            return ("it received alice's messages %s; alice's own connection received %s"
                    % (stolen, alice.read_for_a_while(0.5)))

        self.assert_refused_and_closed(attacker, version, client, connack, evidence)
        self.assert_alice_undisturbed(alice, sender, in_flight)

    def take_over_with_clean_start(self, attacker, version):
        watcher = self.service()
        self.assertEqual(watcher.subscribe("alice/will", 1), 1)
        marker = "marker/" + uuid.uuid4().hex[:8]
        self.assertEqual(watcher.subscribe(marker, 1), 1)
        alice, sender, in_flight = self.alice_with_messages(version, will=WILL)
        client, connack = self.attack(attacker, version, clean_start=True)

        def evidence():
            sender.publish(marker, b"marker")
            return ("alice's session was ended: her connection received %s, and the watcher of "
                    "alice/will received %s"
                    % (alice.read_for_a_while(0.5), describe(watcher.receive_until(marker))))

        self.assert_refused_and_closed(attacker, version, client, connack, evidence)
        # Published after the refusal: if the refusal had sent alice's Will, it would come first.
        self.assertEqual(sender.publish(marker, b"marker"), 0)
        seen = watcher.receive_until(marker)
        self.assertEqual([each.topic for each in seen], [marker],
                         "alice's Will must not be published by a refused CONNECT; the watcher "
                         "received %s" % describe(seen))
        self.assert_alice_undisturbed(alice, sender, in_flight)

    def test_v5_password_user_cannot_resume_another_users_session(self):
        self.take_over_with_resume("mallory", V5)

    def test_v311_password_user_cannot_resume_another_users_session(self):
        self.take_over_with_resume("mallory", V311)

    def test_v5_password_user_cannot_clean_start_another_users_session(self):
        self.take_over_with_clean_start("mallory", V5)

    def test_v311_password_user_cannot_clean_start_another_users_session(self):
        self.take_over_with_clean_start("mallory", V311)

    def test_v5_anonymous_client_named_alice_cannot_resume_alices_session(self):
        self.take_over_with_resume("anonymous", V5)

    def test_v311_anonymous_client_named_alice_cannot_resume_alices_session(self):
        self.take_over_with_resume("anonymous", V311)

    def test_v5_anonymous_client_named_alice_cannot_clean_start_alices_session(self):
        self.take_over_with_clean_start("anonymous", V5)

    def test_v311_anonymous_client_named_alice_cannot_clean_start_alices_session(self):
        self.take_over_with_clean_start("anonymous", V311)

    def test_v5_device_cannot_resume_a_password_users_session(self):
        self.take_over_with_resume("device", V5)

    def test_v311_device_cannot_resume_a_password_users_session(self):
        self.take_over_with_resume("device", V311)

    def test_v5_device_cannot_clean_start_a_password_users_session(self):
        self.take_over_with_clean_start("device", V5)

    def test_v311_device_cannot_clean_start_a_password_users_session(self):
        self.take_over_with_clean_start("device", V311)

    def test_v5_certificate_client_cannot_resume_a_password_users_session(self):
        self.take_over_with_resume("certificate", V5)

    def test_v311_certificate_client_cannot_resume_a_password_users_session(self):
        self.take_over_with_resume("certificate", V311)

    def test_v5_certificate_client_cannot_clean_start_a_password_users_session(self):
        self.take_over_with_clean_start("certificate", V5)

    def test_v311_certificate_client_cannot_clean_start_a_password_users_session(self):
        self.take_over_with_clean_start("certificate", V311)

    # ---- across a restart ----

    def binding_survives_a_restart(self, version):
        """The owner of a stored session is stored with it: after a restart of the broker on
        the same database, mallory still cannot resume alice's session, and alice can."""
        alice, sender, in_flight = self.alice_with_messages(version)
        alice.close()
        sender.close()
        self.assertEqual(self.broker.stop(), 0)
        self.broker.close()  # the data directory (and its database) stays
        self.broker = Broker(*self.settings, data_dir=self.data_dir)

        client, connack = self.attack("mallory", version, clean_start=False)
        self.assert_refused_and_closed(
            "mallory", version, client, connack,
            lambda: "after a restart, it received alice's messages %s"
            % client.read_for_a_while(1, ack=True))

        again, connack = self.alice_login(version)
        self.assertEqual((connack.reason, connack.session_present), (0, 1), str(connack))
        resent = again.receive_publish()
        self.assertEqual((resent.topic, resent.payload), ("alice/x", b"in flight"))
        queued = again.receive_publish()
        self.assertEqual((queued.topic, queued.payload), ("alice/x", b"queued"))

    def test_binding_survives_a_restart_v5(self):
        self.binding_survives_a_restart(V5)

    def test_binding_survives_a_restart_v311(self):
        self.binding_survives_a_restart(V311)

    # ---- the owner ----

    def owner_resumes(self, version):
        alice, sender, in_flight = self.alice_with_messages(version)
        alice.close()
        again, connack = self.alice_login(version)
        self.assertEqual((connack.reason, connack.session_present), (0, 1), str(connack))
        resent = again.receive_publish()
        # [MQTT-4.4.0-1]: the unacknowledged PUBLISH is sent again with DUP 1, then the queue.
        self.assertEqual((resent.topic, resent.payload, resent.dup),
                         ("alice/x", b"in flight", True))
        queued = again.receive_publish()
        self.assertEqual((queued.topic, queued.payload), ("alice/x", b"queued"))

    def test_owner_resumes_her_session_v5(self):
        self.owner_resumes(V5)

    def test_owner_resumes_her_session_v311(self):
        self.owner_resumes(V311)

    # ---- same principal, narrower rights ----

    def resumption_rechecks(self, version):
        alice, connack = self.alice_login(version)
        self.assertEqual(connack.reason, 0, str(connack))
        # Two filters, so that a broker narrowing her subscriptions to her new rights keeps
        # alice/public/# (alice/# would no longer be covered by them).
        self.assertEqual(alice.subscribe("alice/secret/#", 1), 1)
        self.assertEqual(alice.subscribe("alice/public/#", 1), 1)
        sender = self.service()
        self.assertEqual(sender.publish("alice/secret/x", b"secret in flight"), 0)
        self.assertEqual(alice.receive_publish(ack=False).payload, b"secret in flight")
        self.assertEqual(sender.publish("alice/public/a", b"public queued a"), 0)
        self.assertEqual(sender.publish("alice/secret/r", b"secret retained", retain=True), 0)
        self.assertEqual(sender.publish("alice/secret/y", b"secret queued"), 0)
        self.assertEqual(sender.publish("alice/public/b", b"public queued b"), 0)
        alice.close()

        write_file(self.acl, NARROWED_ACL)
        self.broker.process.send_signal(signal.SIGHUP)  # a reload, not a stop
        finished = self.broker.wait_for_output(r"reload finished")
        self.assertIn(" 0 problem", finished)

        again, connack = self.alice_login(version)
        self.assertEqual((connack.reason, connack.session_present), (0, 1), str(connack))
        self.assertEqual(sender.publish("alice/public/end", b"end"), 0)
        received = again.receive_until("alice/public/end")
        secret = [each for each in received if each.topic.startswith("alice/secret/")]
        self.assertEqual(describe(secret), "[]",
                         "after the reload took alice's read access to alice/secret/# away, her "
                         "resumed session delivered %s" % describe(received))
        self.assertEqual([each.payload for each in received],
                         [b"public queued a", b"public queued b", b"end"])

        # The retained message is not hers any more either: subscribing there is refused and
        # sends nothing (the marker is the next message).
        refused = again.subscribe("alice/secret/#", 1)
        self.assertEqual(refused, 0x87 if version == V5 else 0x80)
        self.assertEqual(sender.publish("alice/public/end2", b"end2"), 0)
        received = again.receive_until("alice/public/end2")
        self.assertEqual(describe(received), describe(received[-1:]))

    def test_resumption_rechecks_narrowed_rights_v5(self):
        self.resumption_rechecks(V5)

    def test_resumption_rechecks_narrowed_rights_v311(self):
        self.resumption_rechecks(V311)


if __name__ == "__main__":
    unittest.main()
