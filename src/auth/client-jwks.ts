import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { ASSERTION_ALGS } from './token.service';

/** JWK members that hold private (RSA, EC, OKP) or symmetric (`k`) key material. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Why one key of a client's registered JWKS (SMART Backend Services `private_key_jwt`) cannot be used, or undefined
 * when it can: a public RSA or EC P-384 key for signatures, with `alg`, when named, one the token endpoint takes
 * (RS384, ES384). A key holding private key material is refused, since registering it would leak it (it would be
 * stored, and anyone who reads the table could sign as the client). The reason never repeats a key's values.
 */
export function jwkProblem(key: Record<string, unknown>): string | undefined {
  const secret = PRIVATE_MEMBERS.filter((m) => m in key);
  if (secret.length)
    return `holds private key material (${secret.join(', ')}): register the public key only; the private key stays with the client`;
  if (key.kty !== 'RSA' && key.kty !== 'EC') return 'kty must be RSA or EC (assertions are signed RS384 or ES384)';
  if (key.kty === 'EC' && key.crv !== 'P-384') return 'an EC key must be on the curve P-384 (ES384)';
  if (key.alg !== undefined && !(typeof key.alg === 'string' && ASSERTION_ALGS.includes(key.alg)))
    return `alg must be ${ASSERTION_ALGS.join(' or ')} when given`;
  if (key.use !== undefined && key.use !== 'sig') return 'use must be sig when given';
  try {
    createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch {
    return `is not a valid ${key.kty} public key`;
  }
  return undefined;
}
