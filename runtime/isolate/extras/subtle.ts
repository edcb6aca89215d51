// Extra "subtle": crypto.subtle's algorithms beyond digest and HMAC (AES, ECDSA/ECDH, Ed25519/X25519,
// RSA, PBKDF2/HKDF, the spki/pkcs8/jwk formats), loaded by crypto.ts the first time a function asks
// for one. It exports the factory only; the main runtime hands it its DOMException, CryptoKey and
// DRBG (one of each per isolate). The modules initialise on the isolate's thread (register.ts).

import { registerExtra } from './register.js';

declare const require: (id: string) => unknown;

registerExtra(() => require('../web/subtle/subtle.js'));
