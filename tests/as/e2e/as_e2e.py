#!/usr/bin/python3
"""End-to-end tests of acemq-as: the real binary on a free port, driven with curl, Python's
urllib/ssl and PyJWT, and npm jose (through node). Waits on the server's ready line, never on
sleeps.

usage: as_e2e.py --binary path/to/acemq-as --node-dir tests/node [--curl curl]
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

import jwt  # PyJWT

ARGS = None
SECRET = "client-secret-1"
RS_SECRET = "rs-secret-1"
OWNER_SECRET = "owner-secret-1"
KEK = '{"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"}'


# --- a minimal CBOR codec for the test (maps, ints, text, bytes, arrays, bool, null) ---
def cbor_head(major, value):
    if value < 24:
        return bytes([major << 5 | value])
    for size, code in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | code]) + value.to_bytes(size, "big")
    raise ValueError(value)


def cbor_encode(item):
    if item is None:
        return b"\xf6"
    if item is True:
        return b"\xf5"
    if item is False:
        return b"\xf4"
    if isinstance(item, int):
        return cbor_head(0, item) if item >= 0 else cbor_head(1, -1 - item)
    if isinstance(item, bytes):
        return cbor_head(2, len(item)) + item
    if isinstance(item, str):
        data = item.encode()
        return cbor_head(3, len(data)) + data
    if isinstance(item, list):
        return cbor_head(4, len(item)) + b"".join(cbor_encode(x) for x in item)
    if isinstance(item, dict):
        return cbor_head(5, len(item)) + b"".join(cbor_encode(k) + cbor_encode(v) for k, v in item.items())
    raise TypeError(item)


def cbor_decode(data):
    def item(pos):
        head = data[pos]
        major, info = head >> 5, head & 31
        pos += 1
        if info < 24:
            value = info
        else:
            size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
            value = int.from_bytes(data[pos:pos + size], "big")
            pos += size
        if major == 0:
            return value, pos
        if major == 1:
            return -1 - value, pos
        if major == 2:
            return bytes(data[pos:pos + value]), pos + value
        if major == 3:
            return data[pos:pos + value].decode(), pos + value
        if major == 4:
            out = []
            for _ in range(value):
                element, pos = item(pos)
                out.append(element)
            return out, pos
        if major == 5:
            out = {}
            for _ in range(value):
                key, pos = item(pos)
                out[key], pos = item(pos)
            return out, pos
        if major == 6:
            return item(pos)
        if major == 7:
            return {20: False, 21: True, 22: None}[info], pos
        raise ValueError(head)

    value, end = item(0)
    assert end == len(data)
    return value


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Server:
    """Runs `acemq-as serve` and parses its ready line."""

    def __init__(self, data_dir, config=None):
        self.data_dir = data_dir
        self.config = config
        self.process = None

    def admin(self, *arguments):
        result = subprocess.run([ARGS.binary, "--data-dir", self.data_dir, "admin", *arguments],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"admin {arguments}: {result.stderr}")
        return result.stdout

    def start(self):
        config = ["--config", self.config] if self.config else []
        self.process = subprocess.Popen([ARGS.binary, *config, "--data-dir", self.data_dir, "serve", "--port", "0",
                                         "--issuer", "https://acemq-as.test"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # blocks until the server is listening
        if "listening on" not in line:
            raise RuntimeError("server did not start: " + line + self.process.stderr.read())
        words = line.split()
        self.base = words[3]
        self.issuer = words[5]
        self.certificate = words[7]
        self.context = ssl.create_default_context(cafile=self.certificate)

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process.stdout.close()
            self.process.stderr.close()
            self.process = None

    def request(self, method, path, body=None, content_type=None, authorization=None, headers=None):
        request = urllib.request.Request(self.base + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if authorization:
            request.add_header("Authorization", authorization)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def token_form(self, fields, client="sensor", secret=SECRET):
        return self.request("POST", "/token", urllib.parse.urlencode(fields).encode(),
                            "application/x-www-form-urlencoded", basic(client, secret))

    def introspect(self, token, audience="broker"):
        status, _, body = self.request("POST", "/introspect", json.dumps({"token": token}).encode(),
                                       "application/ace+json", basic(audience, RS_SECRET))
        assert status == 200, body
        return json.loads(body)


SERVER = None


def setUpModule():
    global SERVER
    data_dir = tempfile.mkdtemp(prefix="acemq-as-e2e-")
    SERVER = Server(data_dir)
    for audience, token_format in (("broker", "jwt"), ("broker-cwt", "cwt"), ("broker-ref", "reference")):
        SERVER.admin("rs", "create", audience, "--secret", RS_SECRET, "--format", token_format,
                     "--lifetime", "600", "--encryption-key", KEK, "--rs-cnf", '{"kid":"broker-key"}')
    SERVER.admin("client", "create", "sensor", "--secret", SECRET, "--refresh", "rotating")
    SERVER.admin("client", "create", "device", "--secret", SECRET, "--refresh", "constant")
    SERVER.admin("owner", "create", "alice", "--secret", OWNER_SECRET, "--subtree", "broker=home/alice/#",
                 "--subtree", "broker-cwt=home/alice/#", "--subtree", "broker-ref=home/alice/#")
    for client in ("sensor", "device"):
        for audience in ("broker", "broker-cwt", "broker-ref"):
            SERVER.admin("grant", "create", "--owner", "alice", "--client", client, "--audience", audience,
                         "--filter", "home/alice/#", "--permissions", "sub", "--lifetime", "86400")
            SERVER.admin("grant", "create", "--owner", "alice", "--client", client, "--audience", audience,
                         "--filter", "home/alice/cmd", "--permissions", "pub", "--lifetime", "86400")
    SERVER.start()


def tearDownModule():
    SERVER.stop()
    shutil.rmtree(SERVER.data_dir, ignore_errors=True)


def jwks():
    status, _, body = SERVER.request("GET", "/jwks")
    assert status == 200
    return json.loads(body)


def verify_with_pyjwt(token, audience="broker"):
    header = jwt.get_unverified_header(token)
    for key in jwks()["keys"]:
        if key["kid"] == header["kid"]:
            public_key = jwt.PyJWK(key).key
            return jwt.decode(token, public_key, algorithms=[header["alg"]], audience=audience,
                              issuer=SERVER.issuer)
    raise AssertionError("kid not in /jwks")


class Endpoints(unittest.TestCase):
    def test_metadata(self):
        status, _, body = SERVER.request("GET", "/.well-known/oauth-authorization-server")
        self.assertEqual(status, 200)
        metadata = json.loads(body)
        self.assertEqual(metadata["issuer"], SERVER.issuer)
        self.assertIn("client_credentials", metadata["grant_types_supported"])

    def test_client_credentials_jwt_verified_by_pyjwt_and_node_jose(self):
        scope = json.dumps([["home/#", ["pub", "sub"]]])
        status, headers, body = SERVER.token_form(
            {"grant_type": "client_credentials", "audience": "broker", "scope": scope})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        response = json.loads(body)
        self.assertEqual(response["scope"], '[["home/alice/#",["sub"]],["home/alice/cmd",["pub"]]]')
        self.assertEqual(response["ace_profile"], "mqtt_tls")
        self.assertEqual(response["cnf"]["jwk"]["kty"], "oct")
        claims = verify_with_pyjwt(response["access_token"])
        self.assertEqual(claims["sub"], "sensor")
        self.assertIn("jwe", claims["cnf"])
        aif = json.loads(base64.urlsafe_b64decode(claims["scope"] + "=" * (-len(claims["scope"]) % 4)))
        self.assertEqual(aif, [["home/alice/#", ["sub"]], ["home/alice/cmd", ["pub"]]])
        # client_secret_post, application/ace+json
        status, _, body = SERVER.request(
            "POST", "/token",
            json.dumps({"grant_type": "client_credentials", "audience": "broker", "client_id": "device",
                        "client_secret": SECRET}).encode(), "application/ace+json")
        self.assertEqual(status, 200, body)
        second = json.loads(body)["access_token"]
        with open(os.path.join(os.path.dirname(__file__), "verify_jwt.mjs")) as script:
            verifier = script.read()
        node = subprocess.run(
            ["node", "--input-type=module", "-e", verifier],
            cwd=ARGS.node_dir, capture_output=True, text=True, timeout=60,
            input=json.dumps({"jwks": jwks(), "issuer": SERVER.issuer,
                              "tokens": [{"token": response["access_token"], "audience": "broker"},
                                         {"token": second, "audience": "broker"}]}))
        self.assertEqual(node.returncode, 0, node.stdout + node.stderr)
        self.assertEqual(node.stdout.count("ok "), 2)

    def test_cbor_cwt(self):
        body = cbor_encode({33: 2, 5: "broker-cwt", 38: None, 39: b"\x01\x02"})
        status, headers, reply = SERVER.request("POST", "/token", body, "application/ace+cbor",
                                                basic("sensor", SECRET))
        self.assertEqual(status, 200, reply)
        self.assertEqual(headers["Content-Type"], "application/ace+cbor")
        response = cbor_decode(reply)
        self.assertEqual(response[34], 2)
        self.assertEqual(response[38], 3)
        self.assertIn(8, response)
        token = response[1]
        status, _, info = SERVER.request("POST", "/introspect", cbor_encode({11: token}),
                                         "application/ace+cbor", basic("broker-cwt", RS_SECRET))
        self.assertEqual(status, 200)
        info = cbor_decode(info)
        self.assertIs(info[10], True)
        self.assertEqual(info[39], b"\x01\x02")

    def test_reference_token(self):
        status, _, body = SERVER.token_form({"grant_type": "client_credentials", "audience": "broker-ref"})
        self.assertEqual(status, 200)
        token = json.loads(body)["access_token"]
        info = SERVER.introspect(token, "broker-ref")
        self.assertTrue(info["active"])
        self.assertEqual(info["client_id"], "sensor")
        self.assertFalse(SERVER.introspect(token, "broker")["active"])

    def test_errors(self):
        cases = [
            (SERVER.token_form({"grant_type": "client_credentials", "audience": "broker"}, secret="bad"),
             401, "invalid_client"),
            (SERVER.token_form({"grant_type": "client_credentials", "audience": "nowhere"}), 400,
             "invalid_request"),
            (SERVER.token_form({"grant_type": "client_credentials", "audience": "broker",
                                "scope": '[["office/#",["pub"]]]'}), 400, "invalid_scope"),
            (SERVER.token_form({"grant_type": "password", "audience": "broker"}), 400,
             "unsupported_grant_type"),
            (SERVER.request("POST", "/token", b'{"grant_type":', "application/ace+json",
                            basic("sensor", SECRET)), 400, "invalid_request"),
            (SERVER.request("POST", "/token", b"grant_type=client_credentials", "text/plain",
                            basic("sensor", SECRET)), 415, "invalid_request"),
        ]
        for (status, headers, body), expected_status, expected_error in cases:
            self.assertEqual(status, expected_status, body)
            self.assertEqual(json.loads(body)["error"], expected_error)
            if expected_status == 401:
                self.assertIn("Basic", headers.get("WWW-Authenticate", ""))
        status, _, body = SERVER.request("POST", "/token", b"\xa1\x18", "application/ace+cbor",
                                         basic("sensor", SECRET))
        self.assertEqual(status, 400)
        self.assertEqual(cbor_decode(body)[30], 1)
        status, _, _ = SERVER.request("POST", "/token", b"a=" + b"x" * 100000,
                                      "application/x-www-form-urlencoded", basic("sensor", SECRET))
        self.assertEqual(status, 413)

    def test_revocation_visible_in_introspection_and_trl(self):
        status, _, body = SERVER.token_form({"grant_type": "client_credentials", "audience": "broker"})
        token = json.loads(body)["access_token"]
        self.assertTrue(SERVER.introspect(token)["active"])
        status, _, body = SERVER.request("GET", "/trl", authorization=basic("broker", RS_SECRET))
        cursor = json.loads(body)["cursor"]
        status, _, _ = SERVER.request("POST", "/revoke", urllib.parse.urlencode({"token": token}).encode(),
                                      "application/x-www-form-urlencoded", basic("sensor", SECRET))
        self.assertEqual(status, 200)
        self.assertFalse(SERVER.introspect(token)["active"])
        status, _, body = SERVER.request("GET", f"/trl?cursor={cursor}", authorization=basic("broker", RS_SECRET))
        hashes = [entry["token_hash"] for entry in json.loads(body)["revoked"]]
        self.assertIn(b64url(hashlib.sha256(token.encode()).digest()), hashes)

    def test_refresh_rotating_and_constant(self):
        first = json.loads(SERVER.token_form({"grant_type": "client_credentials", "audience": "broker"})[2])
        status, _, body = SERVER.token_form({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
        self.assertEqual(status, 200, body)
        rotated = json.loads(body)["refresh_token"]
        self.assertNotEqual(rotated, first["refresh_token"])
        status, _, body = SERVER.token_form({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
        self.assertEqual((status, json.loads(body)["error"]), (400, "invalid_grant"))
        constant = json.loads(SERVER.token_form({"grant_type": "client_credentials", "audience": "broker"},
                                                client="device")[2])["refresh_token"]
        for _ in range(2):
            status, _, body = SERVER.token_form({"grant_type": "refresh_token", "refresh_token": constant},
                                                client="device")
            self.assertEqual(status, 200, body)
            self.assertNotIn("refresh_token", json.loads(body))

    def test_curl(self):
        curl = shutil.which(ARGS.curl)
        if curl is None:
            self.skipTest("curl not installed")
        result = subprocess.run(
            [curl, "-sS", "--cacert", SERVER.certificate, "-u", f"sensor:{SECRET}",
             "-d", "grant_type=client_credentials", "-d", "audience=broker",
             "-w", "\\n%{http_code}", SERVER.base + "/token"],
            capture_output=True, text=True, timeout=60)
        body, status = result.stdout.rsplit("\n", 1)
        self.assertEqual(status, "200", result.stderr)
        verify_with_pyjwt(json.loads(body)["access_token"])
        result = subprocess.run([curl, "-sS", "--cacert", SERVER.certificate, SERVER.base + "/jwks"],
                                capture_output=True, text=True, timeout=60)
        self.assertIn('"keys"', result.stdout)

    def test_z_key_rotation_across_restart(self):
        # Runs last (alphabetical): restarts the server.
        old = json.loads(SERVER.token_form({"grant_type": "client_credentials", "audience": "broker"})[2])
        SERVER.stop()
        SERVER.admin("keys", "rotate")
        SERVER.start()
        keys = jwks()["keys"]
        self.assertEqual(len(keys), 2)
        verify_with_pyjwt(old["access_token"])
        new = json.loads(SERVER.token_form({"grant_type": "client_credentials", "audience": "broker"})[2])
        self.assertNotEqual(jwt.get_unverified_header(new["access_token"])["kid"],
                            jwt.get_unverified_header(old["access_token"])["kid"])
        verify_with_pyjwt(new["access_token"])


class TlsClientCertificate(unittest.TestCase):
    """tls_client_auth (RFC 8705 2.1): a client authenticated by its certificate alone, with the
    CA-signed development PKI of scripts/dev-pki."""

    def test_token_with_client_certificate(self):
        curl = shutil.which(ARGS.curl)
        if curl is None:
            self.skipTest("curl not installed")
        work = tempfile.mkdtemp(prefix="acemq-as-e2e-tls-")
        try:
            pki = os.path.join(work, "pki")
            repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
            subprocess.run([os.path.join(repo, "scripts", "dev-pki"), pki], check=True,
                           capture_output=True, timeout=120)
            config = os.path.join(work, "as.toml")
            with open(config, "w") as out:
                out.write("[https]\n"
                          f'certificate = "{pki}/server.pem"\n'
                          f'private_key = "{pki}/server.key"\n'
                          f'client_ca = "{pki}/ca.pem"\n')
            with open(os.path.join(pki, "client.pem")) as pem:
                der = ssl.PEM_cert_to_DER_cert(pem.read())
            thumbprint = b64url(hashlib.sha256(der).digest())
            server = Server(os.path.join(work, "data"), config)
            server.admin("rs", "create", "broker", "--secret", RS_SECRET, "--encryption-key", KEK)
            server.admin("client", "create", "cert-client", "--cert-thumbprint", thumbprint)
            server.admin("owner", "create", "alice", "--secret", OWNER_SECRET, "--subtree", "broker=home/#")
            server.admin("grant", "create", "--owner", "alice", "--client", "cert-client", "--audience",
                         "broker", "--filter", "home/#", "--permissions", "pub,sub")
            server.start()
            try:
                base = [curl, "-sS", "--cacert", os.path.join(pki, "ca.pem"), "-w", "\n%{http_code}",
                        "-d", "grant_type=client_credentials", "-d", "client_id=cert-client",
                        "-d", "audience=broker"]
                with_cert = subprocess.run(
                    base + ["--cert", os.path.join(pki, "client.pem"), "--key", os.path.join(pki, "client.key"),
                            server.base + "/token"], capture_output=True, text=True, timeout=60)
                body, status = with_cert.stdout.rsplit("\n", 1)
                self.assertEqual(status, "200", with_cert.stdout + with_cert.stderr)
                self.assertEqual(json.loads(body)["token_type"], "PoP")
                without = subprocess.run(base + [server.base + "/token"], capture_output=True, text=True,
                                         timeout=60)
                body, status = without.stdout.rsplit("\n", 1)
                self.assertEqual(status, "401")
                self.assertEqual(json.loads(body)["error"], "invalid_client")
            finally:
                server.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--node-dir", required=True)
    parser.add_argument("--curl", default="curl")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
