// Interop between acemq's JOSE library (through jose_tool) and the npm "jose" package, in both
// directions: JWS for HS256/EdDSA/ES256/RS256/PS256 and JWE for A128KW+A128GCM, dir+A128GCM and
// ECDH-ES+A256GCM. Run with the working directory tests/node (where the npm peers live):
//   node tests/token/interop/jose_interop.mjs <path-to-jose_tool>
// Exits non-zero on the first mismatch.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const tool = process.argv[2];
if (!tool) {
  console.error('usage: jose_interop.mjs <jose_tool>');
  process.exit(2);
}
// Resolve "jose" from the working directory (tests/node), not from this script's folder.
const requireFromCwd = createRequire(join(process.cwd(), 'package.json'));
const jose = await import(pathToFileURL(requireFromCwd.resolve('jose')).href);

const work = mkdtempSync(join(tmpdir(), 'acemq-jose-interop-'));
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let checks = 0;

function runTool(args, input) {
  return execFileSync(tool, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function toolFails(args, input) {
  try {
    runTool(args, input);
    return false;
  } catch (error) {
    return error.status === 1;
  }
}

function check(condition, what) {
  if (!condition) throw new Error(`interop mismatch: ${what}`);
  checks += 1;
}

function writeJwk(name, jwk) {
  const path = join(work, name);
  writeFileSync(path, JSON.stringify(jwk));
  return path;
}

function flipLastSignatureChar(token) {
  const last = token[token.length - 1];
  return token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

async function jwsCase(alg) {
  const payload = JSON.stringify({ iss: 'node', aud: 'acemq', alg, n: Math.random() });
  let privateJwk;
  let publicJwk;
  let verifyKey;
  let signKey;
  if (alg === 'HS256') {
    const secret = await jose.generateSecret('HS256', { extractable: true });
    privateJwk = await jose.exportJWK(secret);
    publicJwk = privateJwk;
    verifyKey = secret;
    signKey = secret;
  } else {
    const pair = await jose.generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
    privateJwk = await jose.exportJWK(pair.privateKey);
    publicJwk = await jose.exportJWK(pair.publicKey);
    verifyKey = pair.publicKey;
    signKey = pair.privateKey;
  }
  privateJwk.kid = `node-${alg}`;
  publicJwk.kid = `node-${alg}`;
  const privatePath = writeJwk(`${alg}-private.jwk`, privateJwk);
  const publicPath = writeJwk(`${alg}-public.jwk`, publicJwk);

  // acemq signs, node verifies.
  const ours = runTool(['sign', privatePath, alg], payload).trim();
  const verified = await jose.compactVerify(ours, verifyKey, { algorithms: [alg] });
  check(decoder.decode(verified.payload) === payload, `${alg}: node verifies acemq's JWS`);
  check(verified.protectedHeader.alg === alg, `${alg}: header alg`);

  // node signs, acemq verifies (and refuses a tampered copy).
  const theirs = await new jose.CompactSign(encoder.encode(payload))
    .setProtectedHeader({ alg, kid: `node-${alg}` })
    .sign(signKey);
  check(runTool(['verify', publicPath], theirs) === payload, `${alg}: acemq verifies node's JWS`);
  check(toolFails(['verify', publicPath], flipLastSignatureChar(theirs)),
        `${alg}: acemq refuses a tampered node JWS`);
}

async function jweCase(alg, enc, keyKind) {
  const plaintext = JSON.stringify({ secret: 'pop key', alg, enc });
  let privateJwk;
  let publicJwk;
  let decryptKey;
  let encryptKey;
  if (keyKind === 'oct') {
    const secret = await jose.generateSecret(alg === 'dir' ? enc : alg, { extractable: true });
    privateJwk = await jose.exportJWK(secret);
    publicJwk = privateJwk;
    decryptKey = secret;
    encryptKey = secret;
  } else {
    const pair = await jose.generateKeyPair(alg, { crv: 'P-256', extractable: true });
    privateJwk = await jose.exportJWK(pair.privateKey);
    publicJwk = await jose.exportJWK(pair.publicKey);
    decryptKey = pair.privateKey;
    encryptKey = pair.publicKey;
  }
  const name = `${alg}-${enc}`;
  const privatePath = writeJwk(`${name}-private.jwk`, privateJwk);
  const publicPath = writeJwk(`${name}-public.jwk`, publicJwk);

  // acemq encrypts, node decrypts.
  const ours = runTool(['encrypt', publicPath, alg, enc], plaintext).trim();
  const opened = await jose.compactDecrypt(ours, decryptKey, {
    keyManagementAlgorithms: [alg],
    contentEncryptionAlgorithms: [enc],
  });
  check(decoder.decode(opened.plaintext) === plaintext, `${name}: node decrypts acemq's JWE`);

  // node encrypts, acemq decrypts (and refuses a tampered copy).
  let builder = new jose.CompactEncrypt(encoder.encode(plaintext)).setProtectedHeader({ alg, enc });
  if (alg === 'ECDH-ES') {
    builder = builder.setKeyManagementParameters({ apu: encoder.encode('node'), apv: encoder.encode('acemq') });
  }
  const theirs = await builder.encrypt(encryptKey);
  check(runTool(['decrypt', privatePath], theirs) === plaintext, `${name}: acemq decrypts node's JWE`);
  check(toolFails(['decrypt', privatePath], flipLastSignatureChar(theirs)),
        `${name}: acemq refuses a tampered node JWE`);
}

try {
  for (const alg of ['HS256', 'EdDSA', 'ES256', 'RS256', 'PS256']) await jwsCase(alg);
  await jweCase('A128KW', 'A128GCM', 'oct');
  await jweCase('A256KW', 'A256GCM', 'oct');
  await jweCase('dir', 'A128GCM', 'oct');
  await jweCase('ECDH-ES', 'A256GCM', 'ec');
  await jweCase('ECDH-ES', 'A128GCM', 'ec');
  console.log(`jose interop (node): ${checks} checks passed`);
} catch (error) {
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
