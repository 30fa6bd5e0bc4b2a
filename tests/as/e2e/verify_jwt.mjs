// Verifies acemq-as JWTs with the npm `jose` library using ONLY the published JWK Set.
// Input on stdin: {"jwks": {...}, "issuer": "...", "tokens": [{"token": "...", "audience": "..."}]}.
// Run with the working directory tests/node (where node_modules/jose is) via --input-type=module.
import { createLocalJWKSet, jwtVerify } from 'jose';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const request = JSON.parse(input);
const keys = createLocalJWKSet(request.jwks);
let failures = 0;
for (const { token, audience } of request.tokens) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      issuer: request.issuer,
      audience,
    });
    if (!payload.cnf || payload.ace_profile !== 'mqtt_tls' || typeof payload.scope !== 'string') {
      throw new Error('missing ACE claims');
    }
    console.log(`ok ${protectedHeader.alg} ${protectedHeader.kid} ${payload.jti}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${error.code ?? ''} ${error.message}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
