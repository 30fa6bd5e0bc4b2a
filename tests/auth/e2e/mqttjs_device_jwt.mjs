// End-to-end: MQTT.js (MQTT 5 enhanced authentication) and npm `jose` against the device JWT
// provider's nonce challenge (Authentication Method "acemq-device-jwt"). Run by
// auth_e2e_test.py, which starts the broker, registers the device and passes:
//   ACEMQ_TLS_PORT, ACEMQ_CA, ACEMQ_DEVICE_ID, ACEMQ_DEVICE_KEY (PKCS#8 PEM), ACEMQ_AUDIENCE,
//   ACEMQ_NODE_PROJECT (the folder holding node_modules).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.env.ACEMQ_NODE_PROJECT, 'package.json'));
const mqtt = require('mqtt');
const jose = require('jose');

const METHOD = 'acemq-device-jwt';
const TIMEOUT_MS = 10000;
const device = process.env.ACEMQ_DEVICE_ID;
const audience = process.env.ACEMQ_AUDIENCE;
const key = await jose.importPKCS8(fs.readFileSync(process.env.ACEMQ_DEVICE_KEY, 'utf8'), 'EdDSA');

/** A device JWT; `extra` adds claims such as the broker's nonce. */
async function mint(extra = {}, iatOffset = 0) {
  const iat = Math.floor(Date.now() / 1000) + iatOffset;
  return new jose.SignJWT({ aud: audience, iat, exp: iat + 600, ...extra })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .sign(key);
}

/**
 * Connects with the challenge; `answer(nonce)` returns the JWT to send in the AUTH reply.
 * Resolves with the client on CONNACK 0, rejects with the error otherwise.
 */
function connect(answer) {
  return new Promise((resolve, reject) => {
    // The broker listens on 127.0.0.1; the certificate names localhost. (Node 18 does not try
    // the other addresses of a name, and Debian 12 resolves localhost to ::1 first.)
    const client = mqtt.connect(`mqtts://127.0.0.1:${process.env.ACEMQ_TLS_PORT}`, {
      ca: fs.readFileSync(process.env.ACEMQ_CA),
      servername: 'localhost',
      clientId: device,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: TIMEOUT_MS,
      properties: { authenticationMethod: METHOD },
    });
    client.handleAuth = (packet, callback) => {
      const nonce = packet.properties.authenticationData.toString('ascii');
      answer(nonce).then(
        (token) =>
          callback(null, {
            cmd: 'auth',
            reasonCode: 0x18,
            properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(token) },
          }),
        (error) => callback(error),
      );
    };
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

const results = [];
async function scenario(name, body) {
  await body();
  results.push(name);
}

await scenario('the broker nonce signed into a fresh JWT is accepted', async () => {
  let seen = '';
  const client = await connect(async (nonce) => {
    seen = nonce;
    return mint({ nonce });
  });
  assert.equal(seen.length, 22);
  await client.endAsync();
});

await scenario('a JWT captured on one connection is refused on another', async () => {
  let captured = '';
  const first = await connect(async (nonce) => {
    captured = await mint({ nonce });
    return captured;
  });
  await first.endAsync();
  await assert.rejects(connect(async () => captured));
});

await scenario('a JWT pre-minted with a future iat (back to the future) is refused', async () => {
  const premined = await mint({}, 3 * 365 * 24 * 3600);
  await assert.rejects(connect(async () => premined));
  const unchallenged = await mint({ nonce: 'not-the-broker-nonce' });
  await assert.rejects(connect(async () => unchallenged));
});

console.log(`mqttjs device JWT: ${results.length} scenarios passed`);
for (const name of results) console.log(`  ok ${name}`);
process.exit(0);
