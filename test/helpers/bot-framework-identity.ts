/**
 * A local stand-in for the Bot Framework's token issuer: OpenID metadata and a JWKS over HTTP, and a signer for
 * channel tokens like those Teams sends. botbuilder caches keys per metadata URL, so every instance has its own
 * port and therefore its own URL.
 */
import { type KeyObject, generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import type { BotFrameworkEndpoints } from '../../src/bot/auth';

export const channelIssuer = 'https://api.botframework.com';

export class BotFrameworkIdentity {
  readonly kid = randomUUID();
  private readonly keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private server?: http.Server;

  get baseUrl(): string {
    if (!this.server) throw new Error('identity server not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get endpoints(): BotFrameworkEndpoints {
    const metadata = `${this.baseUrl}/v1/.well-known/openidconfiguration`;
    return {
      ToBotFromChannelOpenIdMetadataUrl: metadata,
      ToBotFromEmulatorOpenIdMetadataUrl: metadata,
      ToBotFromChannelTokenIssuer: channelIssuer,
      ToChannelFromBotLoginUrl: `${this.baseUrl}/botframework.com`,
      ToChannelFromBotOAuthScope: channelIssuer,
      OAuthUrl: this.baseUrl,
      CallerId: 'urn:botframework:azure',
    };
  }

  async start(): Promise<this> {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    this.server = http.createServer((req, res) => {
      const send = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/v1/.well-known/openidconfiguration') {
        send({
          issuer: channelIssuer,
          jwks_uri: `${this.baseUrl}/v1/.well-known/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      } else if (req.url === '/v1/.well-known/keys') {
        send({ keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] });
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A channel token as the Bot Connector signs it, with claims and key overridable to make bad ones. */
  sign(
    claims: { aud: string; serviceurl: string } & Record<string, unknown>,
    options: { key?: KeyObject; expiresInSeconds?: number } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    return jwt.sign(
      { iss: channelIssuer, nbf: now - 60, iat: now - 60, exp: now + (options.expiresInSeconds ?? 3600), ...claims },
      options.key ?? this.keys.privateKey,
      { algorithm: 'RS256', keyid: this.kid, noTimestamp: true },
    );
  }
}

export function otherSigningKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}
