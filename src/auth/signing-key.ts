import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JWK,
} from 'jose';

/** The gateway's own token-signing key. ES256: small tokens, fast to sign and to verify. */
export interface SigningKey {
  alg: 'ES256';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK with `kid`, `alg`, `use` for `/.well-known/jwks.json`. */
  publicJwk: JWK;
}

const ALG = 'ES256';

async function fromPrivatePem(pem: string): Promise<SigningKey> {
  const privateKey = await importPKCS8(pem, ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const pub: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const kid = await calculateJwkThumbprint(pub);
  const publicKey = (await importJWK(pub, ALG)) as CryptoKey;
  return { alg: ALG, kid, privateKey, publicKey, publicJwk: { ...pub, kid, alg: ALG, use: 'sig' } };
}

/**
 * Loads the signing key: from `keyFile` (PKCS#8 PEM, EC P-256) when given; else from `<dataDir>/token-signing-key.pem`,
 * generating and saving it (mode 0600) on first start, so tokens survive restarts and are shared by every
 * process on the same DATA_DIR. Several API processes on different machines need TOKEN_SIGNING_KEY_FILE.
 */
export async function loadSigningKey(opts: { keyFile?: string; dataDir?: string }): Promise<SigningKey> {
  if (opts.keyFile) return fromPrivatePem(await readFile(opts.keyFile, 'utf8'));
  if (!opts.dataDir) return generateSigningKey();
  const file = path.resolve(opts.dataDir, 'token-signing-key.pem');
  try {
    return await fromPrivatePem(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const pem = await exportPKCS8(privateKey);
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // another process on the same DATA_DIR won the race: use its key
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fromPrivatePem(await readFile(file, 'utf8'));
  }
  return fromPrivatePem(pem);
}

/** A fresh in-memory key (tests, or when there is no data directory). */
export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return fromPrivatePem(await exportPKCS8(privateKey));
}
