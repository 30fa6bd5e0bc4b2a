// COSE/CWT interop between acemq and an independent peer (npm `cbor` + node's crypto):
//  1. CWTs signed here (Ed25519, ES256) are decoded with `cbor` and their COSE_Sign1 signature is
//     checked with crypto.verify over a Sig_structure this script rebuilds (RFC 9052 4.4).
//  2. CWTs built here in node (COSE_Sign1 Ed25519, COSE_Mac0 HMAC 256/256) are verified by acemq,
//     and tampered copies are refused.
// Usage: node cose_interop.mjs <path to cose_interop_tool>

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
// The npm test peers live in tests/node (ESM resolves bare names from the script's folder).
const require = createRequire(path.join(here, '..', '..', 'node', 'package.json'));
const cbor = require('cbor');

const tool = process.argv[2];
if (!tool) {
  console.error('usage: node cose_interop.mjs <cose_interop_tool>');
  process.exit(2);
}

function sigStructure(protectedBytes, payload) {
  return cbor.encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
}

function macStructure(protectedBytes, payload) {
  return cbor.encode(['MAC0', protectedBytes, Buffer.alloc(0), payload]);
}

function untag(item, tag) {
  assert.ok(item instanceof cbor.Tagged, `expected tag ${tag}`);
  assert.equal(item.tag, tag);
  return item.value;
}

// 1. acemq -> node
for (const [kind, coseAlg] of [['eddsa', -8], ['es256', -7]]) {
  const made = JSON.parse(execFileSync(tool, ['make', kind], { encoding: 'utf8' }));
  const token = Buffer.from(made.token, 'hex');
  const sign1 = untag(untag(cbor.decodeFirstSync(token), 61), 18);
  assert.equal(sign1.length, 4);
  const [protectedBytes, unprotected, payload, signature] = sign1;
  const header = cbor.decodeFirstSync(protectedBytes);
  assert.equal(header.get(1), coseAlg, 'alg in the protected header');
  assert.ok(unprotected.get(4).length > 0, 'kid in the unprotected header');

  const claims = cbor.decodeFirstSync(payload);
  assert.equal(claims.get(1), 'acemq-as');
  assert.equal(claims.get(2), 'client-7');
  assert.equal(claims.get(3), 'acemq-broker');
  assert.equal(claims.get(4), 2000000000);
  assert.equal(claims.get(38), 3);

  const publicKey = crypto.createPublicKey(made.public_key_pem);
  const data = sigStructure(protectedBytes, payload);
  const verified = kind === 'eddsa'
      ? crypto.verify(null, data, publicKey, signature)
      : crypto.verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  assert.ok(verified, `${kind} signature made by acemq verifies in node`);
  const tampered = Buffer.from(payload);
  tampered[tampered.length - 1] ^= 1;
  const forged = kind === 'eddsa'
      ? crypto.verify(null, sigStructure(protectedBytes, tampered), publicKey, signature)
      : crypto.verify('sha256', sigStructure(protectedBytes, tampered),
                      { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  assert.ok(!forged, 'a tampered payload does not verify');
  console.log(`acemq -> node ${kind}: ok`);
}

// 2. node -> acemq
const claims = cbor.encode(new Map([
  [1, 'node-as'], [2, 'node-client'], [3, 'acemq-broker'],
  [4, 2000000000], [6, 1700000000], [7, Buffer.from([1, 2, 3])],
]));

function runVerify(kind, token, keyHex) {
  return spawnSync(tool, ['verify', kind, token.toString('hex'), keyHex], { encoding: 'utf8' });
}

function expectAccepted(kind, token, keyHex) {
  const result = runVerify(kind, token, keyHex);
  assert.equal(result.status, 0, `acemq accepts the node ${kind} token: ${result.stdout}${result.stderr}`);
  assert.equal(result.stdout.trim(), 'ok iss=node-as sub=node-client');
}

function expectRefused(kind, token, keyHex) {
  const result = runVerify(kind, token, keyHex);
  assert.equal(result.status, 1, `acemq refuses: ${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /^refused \d+/);
}

{
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const rawPublic = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const protectedBytes = cbor.encode(new Map([[1, -8]]));
  const signature = crypto.sign(null, sigStructure(protectedBytes, claims), privateKey);
  const sign1 = [protectedBytes, new Map([[4, Buffer.from('node-ed25519')]]), claims, signature];
  const token = cbor.encode(new cbor.Tagged(61, new cbor.Tagged(18, sign1)));
  expectAccepted('eddsa', token, rawPublic.toString('hex'));
  const untaggedCwt = cbor.encode(new cbor.Tagged(18, sign1));
  expectAccepted('eddsa', untaggedCwt, rawPublic.toString('hex'));

  const tampered = Buffer.from(token);
  tampered[tampered.length - 70] ^= 1;  // inside the payload
  expectRefused('eddsa', tampered, rawPublic.toString('hex'));
  const other = crypto.generateKeyPairSync('ed25519').publicKey;
  expectRefused('eddsa', token, other.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex'));
  console.log('node -> acemq eddsa: ok');
}

{
  const secret = crypto.randomBytes(32);
  const protectedBytes = cbor.encode(new Map([[1, 5]]));  // HMAC 256/256
  const tag = crypto.createHmac('sha256', secret).update(macStructure(protectedBytes, claims)).digest();
  const mac0 = [protectedBytes, new Map([[4, Buffer.from('node-hmac')]]), claims, tag];
  const token = cbor.encode(new cbor.Tagged(61, new cbor.Tagged(17, mac0)));
  expectAccepted('hmac', token, secret.toString('hex'));

  const truncated = cbor.encode(new cbor.Tagged(17, [protectedBytes, new Map(), claims, tag.subarray(0, 8)]));
  expectRefused('hmac', truncated, secret.toString('hex'));
  const wrongKey = crypto.randomBytes(32).toString('hex');
  expectRefused('hmac', token, wrongKey);
  // The same MAC presented as a Sign1: the HMAC key must not verify a "signature".
  const asSign1 = cbor.encode(new cbor.Tagged(18, [protectedBytes, new Map(), claims, tag]));
  expectRefused('hmac', asSign1, secret.toString('hex'));
  console.log('node -> acemq hmac: ok');
}

console.log('cose interop: all checks passed');
