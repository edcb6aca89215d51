// The algorithm names the 'subtle' extra implements, upper-cased (WebCrypto §18.4 matches names
// case-insensitively), with each one's registered spelling. Small, so the main runtime can answer
// NotSupportedError for any other name without loading the extra.

export const EXTRA_ALGORITHMS: { readonly [upper: string]: string } = {
  __proto__: null as never,
  'AES-GCM': 'AES-GCM', 'AES-CBC': 'AES-CBC', 'AES-CTR': 'AES-CTR', 'AES-KW': 'AES-KW',
  HMAC: 'HMAC', ECDSA: 'ECDSA', ECDH: 'ECDH', ED25519: 'Ed25519', X25519: 'X25519',
  'RSASSA-PKCS1-V1_5': 'RSASSA-PKCS1-v1_5', 'RSA-PSS': 'RSA-PSS', 'RSA-OAEP': 'RSA-OAEP',
  PBKDF2: 'PBKDF2', HKDF: 'HKDF',
};
