"""Interop between acemq's JOSE library (through jose_tool) and PyJWT, in both directions, for
HS256, EdDSA, ES256, RS256 and PS256.

    python3 tests/token/interop/jose_interop.py <path-to-jose_tool>

Needs PyJWT 2 with the cryptography package. Exits non-zero on the first mismatch.
"""

import json
import os
import subprocess
import sys
import tempfile

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm


def run_tool(tool, args, data):
    return subprocess.run([tool, *args], input=data.encode(), capture_output=True, check=False)


def make_keys(alg):
    """Returns (signing key, verification key, private JWK dict, public JWK dict)."""
    if alg == "HS256":
        secret = os.urandom(32)
        jwk = json.loads(HMACAlgorithm.to_jwk(secret))
        return secret, secret, jwk, jwk
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        to_jwk = OKPAlgorithm.to_jwk
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        to_jwk = ECAlgorithm.to_jwk
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        to_jwk = RSAAlgorithm.to_jwk
    public = private.public_key()
    return private, public, json.loads(to_jwk(private)), json.loads(to_jwk(public))


def main():
    if len(sys.argv) != 2:
        print("usage: jose_interop.py <jose_tool>", file=sys.stderr)
        return 2
    tool = sys.argv[1]
    checks = 0
    with tempfile.TemporaryDirectory(prefix="acemq-pyjwt-interop-") as work:
        for alg in ["HS256", "EdDSA", "ES256", "RS256", "PS256"]:
            signing_key, verification_key, private_jwk, public_jwk = make_keys(alg)
            private_jwk["kid"] = public_jwk["kid"] = "py-" + alg
            private_path = os.path.join(work, alg + "-private.jwk")
            public_path = os.path.join(work, alg + "-public.jwk")
            with open(private_path, "w", encoding="utf-8") as f:
                json.dump(private_jwk, f)
            with open(public_path, "w", encoding="utf-8") as f:
                json.dump(public_jwk, f)
            claims = {"iss": "python", "aud": "acemq", "alg": alg}

            # acemq signs, PyJWT verifies.
            ours = run_tool(tool, ["sign", private_path, alg], json.dumps(claims))
            if ours.returncode != 0:
                raise SystemExit(f"{alg}: jose_tool sign failed: {ours.stderr.decode()}")
            decoded = jwt.decode(ours.stdout.decode().strip(), verification_key, algorithms=[alg],
                                 audience="acemq")
            if decoded != claims:
                raise SystemExit(f"{alg}: PyJWT decoded {decoded}, expected {claims}")
            checks += 1

            # PyJWT signs, acemq verifies; a token signed by another key is refused.
            theirs = jwt.encode(claims, signing_key, algorithm=alg, headers={"kid": "py-" + alg})
            result = run_tool(tool, ["verify", public_path], theirs)
            if result.returncode != 0 or json.loads(result.stdout) != claims:
                raise SystemExit(f"{alg}: acemq failed to verify PyJWT's token: "
                                 f"{result.stderr.decode()}")
            checks += 1
            other_signing_key = make_keys(alg)[0]
            forged = jwt.encode(claims, other_signing_key, algorithm=alg)
            result = run_tool(tool, ["verify", public_path], forged)
            if result.returncode != 1 or b"bad_signature" not in result.stderr:
                raise SystemExit(f"{alg}: acemq accepted a token signed by another key")
            checks += 1
    print(f"jose interop (PyJWT {jwt.__version__}): {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
