import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { SignJWT, type CryptoKey } from 'jose';
import request from 'supertest';
import { CLIENT_ASSERTION_TYPE } from '../../src/auth/token.service';
import { TEST_BASE_URL } from '../http/shell-fixture';

/**
 * `POST /auth/token` as `clientId` with a client assertion (SMART Backend Services `private_key_jwt`) signed ES384 by
 * `privateKey` under `kid`, addressed to the test gateway's token endpoint.
 */
export async function tokenByAssertion(app: Express, clientId: string, privateKey: CryptoKey, kid: string) {
  return request(app)
    .post('/auth/token')
    .type('form')
    .send({
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await new SignJWT({})
        .setProtectedHeader({ alg: 'ES384', kid })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(`${TEST_BASE_URL}/auth/token`)
        .setExpirationTime('2m')
        .setJti(randomUUID())
        .sign(privateKey),
    });
}
