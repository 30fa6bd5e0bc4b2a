#!/usr/bin/env python3
"""End to end: `acemq token get` against the real acemq-as (AS-generated HS256 key, the client's
own Ed25519 key via req_cnf, ace+json, rs_cnf, refusals), checked with PyJWT against /jwks.
Waits on the AS's ready line, never on sleeps."""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PARSER = argparse.ArgumentParser()
PARSER.add_argument("--acemq", required=True)
PARSER.add_argument("--as", dest="as_binary", required=True)
PARSER.add_argument("--work-dir", required=True)
ARGS, REST = PARSER.parse_known_args()

SECRET = "demo-secret-1"
KEK = '{"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"}'
BROKER_KEY = ec.generate_private_key(ec.SECP256R1())


def b64url_int(value):
    raw = value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def broker_public_jwk():
    numbers = BROKER_KEY.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url_int(numbers.x), "y": b64url_int(numbers.y)}


class AuthorizationServer:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.process = None

    def admin(self, *arguments):
        result = subprocess.run([ARGS.as_binary, "--data-dir", self.data_dir, "admin", *arguments],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"admin {arguments}: {result.stderr}")

    def start(self):
        self.process = subprocess.Popen([ARGS.as_binary, "--data-dir", self.data_dir, "serve", "--port", "0",
                                         "--issuer", "https://acemq-as.test"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # blocks until the server listens
        if "listening on" not in line:
            raise RuntimeError("AS did not start: " + line + self.process.stderr.read())
        words = line.split()
        self.base, self.certificate = words[3], words[7]

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process.stdout.close()
            self.process.stderr.close()


AS = None


def setUpModule():
    global AS
    os.makedirs(ARGS.work_dir, exist_ok=True)
    AS = AuthorizationServer(tempfile.mkdtemp(prefix="as-", dir=ARGS.work_dir))
    AS.admin("rs", "create", "acemq-broker", "--secret", "rs-secret", "--encryption-key", KEK,
             "--rs-cnf", json.dumps({"jwk": broker_public_jwk()}))
    AS.admin("client", "create", "demo-device", "--secret", SECRET)
    AS.admin("owner", "create", "demo-owner", "--secret", "owner-secret", "--subtree", "acemq-broker=demo/#")
    AS.admin("grant", "create", "--owner", "demo-owner", "--client", "demo-device", "--audience", "acemq-broker",
             "--filter", "demo/#", "--permissions", "pub,sub", "--lifetime", "86400")
    AS.start()


def tearDownModule():
    AS.stop()


def token_get(*extra):
    return subprocess.run([ARGS.acemq, "token", "get", "--as", AS.base, "--as-cafile", AS.certificate,
                           "--client-id", "demo-device", "--audience", "acemq-broker", *extra],
                          capture_output=True, text=True, timeout=120)


def jwks():
    import ssl
    import urllib.request
    context = ssl.create_default_context(cafile=AS.certificate)
    with urllib.request.urlopen(AS.base + "/jwks", context=context, timeout=30) as answer:
        return json.load(answer)


def verify(token_text):
    keys = jwks()["keys"]
    header = jwt.get_unverified_header(token_text)
    key = next(k for k in keys if k.get("kid") == header["kid"])
    algorithm = jwt.algorithms.OKPAlgorithm if key["kty"] == "OKP" else jwt.algorithms.ECAlgorithm
    return jwt.decode(token_text, algorithm.from_jwk(json.dumps(key)), algorithms=[header["alg"]],
                      audience="acemq-broker", options={"verify_aud": False})


class TokenGet(unittest.TestCase):
    def read(self, path):
        with open(path) as handle:
            return json.load(handle)

    def test_as_generated_symmetric_key(self):
        out = os.path.join(ARGS.work_dir, "symmetric.json")
        result = token_get("--client-secret", SECRET, "--scope", '[["demo/#",["pub","sub"]]]', "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        creds = self.read(out)
        self.assertEqual(creds["pop_key"]["kty"], "oct")
        self.assertEqual(creds["rs_cnf"]["crv"], "P-256")
        self.assertEqual(creds["rs_cnf"]["x"], broker_public_jwk()["x"])
        token = base64.urlsafe_b64decode(creds["token"] + "==").decode()
        claims = verify(token)
        self.assertEqual(claims["sub"], "demo-device")
        # RFC 7800 3.3: the symmetric key travels to the broker encrypted (cnf.jwe), never in clear.
        self.assertIn("jwe", claims["cnf"])

    def test_own_ed25519_key_via_req_cnf_with_ace_json(self):
        key_path = os.path.join(ARGS.work_dir, "own.pem")
        keygen = subprocess.run([ARGS.acemq, "token", "keygen", "--type", "ed25519", "--out", key_path],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(keygen.returncode, 0, keygen.stderr)
        secret_file = os.path.join(ARGS.work_dir, "secret")
        with open(secret_file, "w") as handle:
            handle.write(SECRET + "\n")
        out = os.path.join(ARGS.work_dir, "own.json")
        result = token_get("--client-secret-file", secret_file, "--key", key_path, "--ace-json",
                           "--scope", '[["demo/a",["pub"]]]', "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        creds = self.read(out)
        self.assertEqual(creds["pop_key"]["kty"], "OKP")
        claims = verify(base64.urlsafe_b64decode(creds["token"] + "==").decode())
        # The token is bound to our public key (RFC 9201 3.1).
        self.assertEqual(claims["cnf"]["jwk"]["x"], creds["pop_key"]["x"])
        self.assertIn("demo/a", creds["scope"])

    def test_token_on_stdout_without_out(self):
        result = token_get("--client-secret", SECRET)
        self.assertEqual(result.returncode, 0, result.stderr)
        token = result.stdout.strip().splitlines()[-1]
        self.assertEqual(verify(token)["sub"], "demo-device")

    def test_refusals(self):
        wrong = token_get("--client-secret", "wrong")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("invalid_client", wrong.stderr)
        outside = token_get("--client-secret", SECRET, "--scope", '[["private/#",["pub"]]]')
        self.assertNotEqual(outside.returncode, 0)
        self.assertIn("invalid_scope", outside.stderr)
        untrusted = subprocess.run([ARGS.acemq, "token", "get", "--as", AS.base, "--client-id", "demo-device",
                                    "--client-secret", SECRET, "--audience", "acemq-broker"],
                                   capture_output=True, text=True, timeout=120)
        self.assertNotEqual(untrusted.returncode, 0)
        self.assertIn("unreachable", untrusted.stderr)  # the self-signed AS is not trusted by default
        plain = token_get("--client-secret", SECRET, "--as", AS.base.replace("https", "http"))
        self.assertNotEqual(plain.returncode, 0)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *REST], verbosity=2)
