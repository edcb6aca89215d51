// Extra "subtle": crypto.subtle's algorithms beyond digest and HMAC (AES, ECDSA/ECDH, Ed25519/X25519,
// RSA, PBKDF2/HKDF, the spki/pkcs8/jwk formats), loaded by crypto.ts the first time a function asks
// for one; each algorithm family's modules initialise when first used. It exports the factory only; the main runtime hands it its DOMException, CryptoKey and
// DRBG (one of each per isolate). The modules initialise on the isolate's thread (register.ts).

import { registerExtra } from './register.js';

declare const require: (id: string) => unknown;

type Modules = import('../web/subtle/subtle.js').AlgorithmModules;
type Factory = typeof import('../web/subtle/subtle.js').makeSubtle;

registerExtra(() => {
  const { makeSubtle } = require('../web/subtle/subtle.js') as { makeSubtle: Factory };
  // esbuild's require() runs a module's top level the first time it is asked for, not before.
  const modules: Modules = {
    aes: () => require('../web/subtle/aes.js') as ReturnType<Modules['aes']>,
    ec: () => require('../web/subtle/ec.js') as ReturnType<Modules['ec']>,
    rsa: () => require('../web/subtle/rsa.js') as ReturnType<Modules['rsa']>,
    kdf: () => require('../web/subtle/hmac-kdf.js') as ReturnType<Modules['kdf']>,
  };
  return { makeSubtle: (deps: Parameters<Factory>[0]) => makeSubtle(deps, modules) };
});
