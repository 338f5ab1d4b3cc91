/**
 * National clouds: GRAPH_CLOUD selects the Microsoft Graph, sign-in and Bot Framework endpoints. For each cloud these
 * tests run the real code paths (@azure/identity and the Graph client; botbuilder's CloudAdapter) against a fake
 * network at node:https (and fetch for the Graph client) and check the URLs they used: where the Graph token was
 * requested and for what, where Graph was called; which OpenID metadata an inbound Teams token was checked against
 * and which issuer it had to carry; where and for what the token to reply in Teams was requested. The expected values
 * are spelled out here, not read from src/clouds.ts, so that a wrong value in the table fails.
 */
import { type KeyObject, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import https from 'node:https';
import { PassThrough, Writable } from 'node:stream';
import { DefaultAzureCredential } from '@azure/identity';
import { type Activity, CloudAdapter, type TurnContext } from 'botbuilder';
import { AuthenticationConstants, GovernmentConstants, type UserTokenClient } from 'botframework-connector';
import { JwtTokenExtractor } from 'botframework-connector/lib/auth/jwtTokenExtractor';
import jwt from 'jsonwebtoken';
import { createGraphConnection } from '../../../src/adapters/graph/graph-client';
import { createBotAuthentication } from '../../../src/bot/auth';
import { type BotFrameworkEndpoints, clouds } from '../../../src/clouds';
import type { Config, GraphCloud } from '../../../src/config';

interface Expected {
  graph: string;
  login: string;
  /** Inbound: the OpenID metadata fetched for a Teams token, and the issuer it must carry. */
  openIdMetadata: string;
  issuer: string;
  /** Outbound: the login host a token to reply is requested from, the multi-tenant bot's tenant there, and the scope. */
  botLogin: string;
  channelTenant: string;
  botScope: string;
  /** The Bot Framework token service (user tokens). */
  oAuthUrl: string;
  callerId: string | undefined;
  /** A Teams service URL of that cloud (it comes with each activity; Registrar configures none). */
  serviceUrl: string;
}

const expected: Record<GraphCloud, Expected> = {
  global: {
    graph: 'https://graph.microsoft.com',
    login: 'https://login.microsoftonline.com',
    openIdMetadata: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
    issuer: 'https://api.botframework.com',
    botLogin: 'https://login.microsoftonline.com',
    channelTenant: 'botframework.com',
    botScope: 'https://api.botframework.com',
    oAuthUrl: 'https://api.botframework.com',
    callerId: 'urn:botframework:azure',
    serviceUrl: 'https://smba.trafficmanager.net/teams/',
  },
  usgov: {
    graph: 'https://graph.microsoft.us',
    login: 'https://login.microsoftonline.us',
    openIdMetadata: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
    issuer: 'https://api.botframework.us',
    botLogin: 'https://login.microsoftonline.us',
    channelTenant: 'MicrosoftServices.onmicrosoft.us',
    botScope: 'https://api.botframework.us',
    oAuthUrl: 'https://tokengcch.botframework.azure.us',
    callerId: 'urn:botframework:azureusgov',
    serviceUrl: 'https://smba.infra.gov.teams.microsoft.us/teams/',
  },
  usgovdod: {
    graph: 'https://dod-graph.microsoft.us',
    login: 'https://login.microsoftonline.us',
    openIdMetadata: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
    issuer: 'https://api.botframework.us',
    botLogin: 'https://login.microsoftonline.us',
    channelTenant: 'MicrosoftServices.onmicrosoft.us',
    botScope: 'https://api.botframework.us',
    oAuthUrl: 'https://apiDoD.botframework.azure.us',
    callerId: 'urn:botframework:azureusgov',
    serviceUrl: 'https://smba.infra.dod.teams.microsoft.us/teams/',
  },
  china: {
    graph: 'https://microsoftgraph.chinacloudapi.cn',
    login: 'https://login.partner.microsoftonline.cn',
    openIdMetadata: 'https://login.botframework.azure.cn/v1/.well-known/openidconfiguration',
    issuer: 'https://api.botframework.azure.cn',
    botLogin: 'https://login.partner.microsoftonline.cn',
    channelTenant: 'microsoftservices.partner.onmschina.cn',
    botScope: 'https://api.botframework.azure.cn',
    oAuthUrl: 'https://token.botframework.azure.cn',
    callerId: undefined,
    serviceUrl: 'https://frontend.botapi.msg.infra.teams.microsoftonline.cn/teams/',
  },
};

const cases = Object.entries(expected) as Array<[GraphCloud, Expected]>;

// ---------------------------------------------------------------------------------------------------------------
// The fake network: every node:https request (@azure/identity and botbuilder's HTTP clients, MSAL, node-fetch) is
// recorded and answered here; nothing leaves the process.

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface Answer {
  status: number;
  body: unknown;
}

/** A token the fake Entra issues: it says which login host issued it and for which scope. */
function tokenFrom(origin: string, scope: string): string {
  return Buffer.from(JSON.stringify({ origin, scope })).toString('base64url');
}

function readToken(authorization: string | undefined): unknown {
  const token = authorization?.replace(/^Bearer /, '') ?? '';
  return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
}

/** Microsoft Entra's answers: the authority's OpenID configuration and the token endpoint. */
function entra(sent: Sent): Answer | undefined {
  const url = new URL(sent.url);
  const metadata = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
  if (metadata) {
    const base = `${url.origin}/${metadata[1]}`;
    return {
      status: 200,
      body: {
        issuer: `${base}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
      },
    };
  }
  // MSAL's instance discovery, for an authority it does not know (the explicit-endpoints test's local host).
  if (url.pathname === '/common/discovery/instance') {
    const authorize = new URL(url.searchParams.get('authorization_endpoint') ?? '');
    const tenant = authorize.pathname.split('/')[1];
    const host = authorize.host;
    return {
      status: 200,
      body: {
        tenant_discovery_endpoint: `${authorize.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      },
    };
  }
  if (sent.method === 'POST' && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname)) {
    const scope = new URLSearchParams(sent.body).get('scope') ?? '';
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: tokenFrom(url.origin, scope),
      },
    };
  }
  return undefined;
}

function urlOf(options: RequestOptions): string {
  const port = options.port && String(options.port) !== '443' ? `:${options.port}` : '';
  return `https://${options.hostname ?? options.host}${port}${options.path ?? '/'}`;
}

function headersOf(options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}

/** Replaces https.request: records each request when its body is complete and answers it. */
function interceptHttps(answer: (sent: Sent) => Answer | undefined): Sent[] {
  const sent: Sent[] = [];
  const request = (options: RequestOptions, callback?: (res: IncomingMessage) => void): ClientRequest => {
    if (typeof options !== 'object' || options instanceof URL)
      throw new Error('the fake network expects https.request(options[, callback])');
    const chunks: Buffer[] = [];
    const req = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        chunks.push(Buffer.from(chunk));
        done();
      },
      final(done) {
        const entry: Sent = {
          method: (options.method ?? 'GET').toUpperCase(),
          url: urlOf(options),
          headers: headersOf(options),
          body: Buffer.concat(chunks).toString('utf8'),
        };
        sent.push(entry);
        const { status, body } = answer(entry) ?? { status: 404, body: { error: 'not faked', url: entry.url } };
        const text = Buffer.from(JSON.stringify(body));
        const res = Object.assign(new PassThrough(), {
          statusCode: status,
          statusMessage: status === 200 ? 'OK' : 'Not Found',
          headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(text.length) },
          rawHeaders: ['content-type', 'application/json; charset=utf-8', 'content-length', String(text.length)],
        });
        res.end(text);
        done();
        setImmediate(() => req.emit('response', res));
      },
    });
    if (callback) req.once('response', callback);
    Object.assign(req, {
      setTimeout: () => req,
      abort: () => req.destroy(),
      setHeader: () => undefined,
      getHeader: () => undefined,
      removeHeader: () => undefined,
    });
    return req as unknown as ClientRequest;
  };
  jest.spyOn(https, 'request').mockImplementation(request as unknown as typeof https.request);
  return sent;
}

afterEach(() => {
  jest.restoreAllMocks();
});

const lower = (url: string) => url.toLowerCase();
/** The URL without its query (MSAL adds client-request-id), lower-cased (MSAL lower-cases the authority). */
const endpoint = (url: string) => lower(`${new URL(url).origin}${new URL(url).pathname}`);
const isTokenRequest = (s: Sent) => s.method === 'POST' && new URL(s.url).pathname.endsWith('/oauth2/v2.0/token');

// ---------------------------------------------------------------------------------------------------------------

describe('national clouds: Microsoft Graph and its sign-in (createGraphConnection)', () => {
  test.each(cases)(
    "%s: Graph is called at the cloud's Graph host with a token requested from the cloud's login for <graph>/.default",
    async (cloud, want) => {
      const sent = interceptHttps(entra);
      const graphCalls: Array<{ url: string; authorization: string | undefined }> = [];
      jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        graphCalls.push({ url, authorization: new Headers(init?.headers).get('authorization') ?? undefined });
        return new Response(JSON.stringify({ value: [] }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      });
      const tenantId = randomUUID();
      const clientId = randomUUID();

      const connection = createGraphConnection({ cloud, tenantId, clientId, clientSecret: 'the-secret' });
      await connection.client.api('/organization').get();

      expect(connection.graphHost).toBe(want.graph);
      expect(connection.authorityHost).toBe(want.login);
      // The token: requested from the cloud's login, in Registrar's tenant, for the cloud's Graph; nothing else was asked anywhere else.
      const tokenRequests = sent.filter((s) => s.method === 'POST');
      expect(tokenRequests.map((s) => endpoint(s.url))).toEqual([lower(`${want.login}/${tenantId}/oauth2/v2.0/token`)]);
      const form = new URLSearchParams(tokenRequests[0]?.body);
      expect(form.get('scope')).toBe(`${want.graph}/.default`);
      expect(form.get('client_id')).toBe(clientId);
      expect(form.get('grant_type')).toBe('client_credentials');
      expect(sent.map((s) => new URL(s.url).origin)).toEqual(sent.map(() => want.login));
      // The call: at the cloud's Graph host, with that token.
      expect(graphCalls).toHaveLength(1);
      expect(graphCalls[0]?.url).toBe(`${want.graph}/v1.0/organization`);
      expect(readToken(graphCalls[0]?.authorization)).toEqual({ origin: want.login, scope: `${want.graph}/.default` });
    },
  );

  test("GRAPH_ENDPOINT and AUTHORITY_HOST still win over the cloud's hosts", () => {
    const connection = createGraphConnection({
      cloud: 'china',
      endpoint: 'https://127.0.0.1:8443/',
      authorityHost: 'https://127.0.0.1:8443',
      tenantId: randomUUID(),
      clientId: randomUUID(),
      clientSecret: 's',
    });

    expect(connection.graphHost).toBe('https://127.0.0.1:8443');
    expect(connection.authorityHost).toBe('https://127.0.0.1:8443');
  });
});

// ---------------------------------------------------------------------------------------------------------------

type Bot = NonNullable<Config['bot']>;

interface Turn {
  sent: Sent[];
  callerId: string | undefined;
  /** Sends another activity with a token that carries `issuer` (same key, same claims otherwise). */
  withIssuer(issuer: string): Promise<void>;
}

/** Serves the cloud's Bot Framework OpenID metadata and keys, Entra, the Teams connector and the token service. */
function botFrameworkNetwork(publicKey: KeyObject, kid: string): Sent[] {
  const jwk = publicKey.export({ format: 'jwk' });
  return interceptHttps((sent) => {
    const url = new URL(sent.url);
    if (url.pathname === '/v1/.well-known/openidconfiguration')
      return { status: 200, body: { issuer: url.origin, jwks_uri: `${url.origin}/v1/.well-known/keys` } };
    if (url.pathname === '/v1/.well-known/keys')
      return {
        status: 200,
        body: { keys: [{ kty: 'RSA', use: 'sig', kid, n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] },
      };
    if (sent.method === 'POST' && url.pathname.includes('/v3/conversations/'))
      return { status: 200, body: { id: 'reply-1' } };
    if (url.pathname === '/api/usertoken/GetTokenStatus') return { status: 200, body: [] };
    return entra(sent);
  });
}

/**
 * A Teams message arrives for the bot in `cloud` with a token signed as that cloud's Bot Connector signs it; the bot
 * replies and asks the token service about the user: what did it fetch and send?
 */
async function replyInTeams(cloud: GraphCloud, bot: Bot, endpoints?: BotFrameworkEndpoints): Promise<Turn> {
  const want = expected[cloud];
  const issuer = endpoints?.ToBotFromChannelTokenIssuer ?? want.issuer;
  // botbuilder keeps one OpenID key cache per metadata URL for the whole process (usgov and usgovdod share one).
  (JwtTokenExtractor as unknown as { openIdMetadataCache: Map<string, unknown> }).openIdMetadataCache.clear();
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const sent = botFrameworkNetwork(keys.publicKey, kid);

  class Adapter extends CloudAdapter {
    run(authHeader: string, activity: Partial<Activity>, logic: (context: TurnContext) => Promise<void>) {
      return this.processActivity(authHeader, activity as Activity, logic);
    }
  }
  const adapter = new Adapter(createBotAuthentication(bot, cloud, endpoints));
  const activity = (): Partial<Activity> => ({
    type: 'message',
    id: randomUUID(),
    channelId: 'msteams',
    serviceUrl: want.serviceUrl,
    conversation: { id: 'a:1conversation', isGroup: false, conversationType: 'personal', name: 'chat' },
    from: { id: '29:1user', name: 'User' },
    recipient: { id: `28:${bot.id}`, name: 'Registrar' },
    text: 'help',
  });
  const token = (issuer: string) => {
    const now = Math.floor(Date.now() / 1000);
    return jwt.sign(
      { iss: issuer, aud: bot.id, serviceurl: want.serviceUrl, nbf: now - 60, iat: now - 60, exp: now + 3600 },
      keys.privateKey,
      { algorithm: 'RS256', keyid: kid, noTimestamp: true },
    );
  };

  let callerId: string | undefined;
  await adapter.run(`Bearer ${token(issuer)}`, activity(), async (context) => {
    callerId = context.activity.callerId;
    await context.sendActivity('hello');
    const userTokens = context.turnState.get<UserTokenClient>(adapter.UserTokenClientKey);
    await userTokens.getTokenStatus('29:1user', 'msteams', '');
  });
  return {
    sent,
    callerId,
    withIssuer: async (issuer) => {
      await adapter.run(`Bearer ${token(issuer)}`, activity(), async () => undefined);
    },
  };
}

const otherIssuer: Record<GraphCloud, string> = {
  global: 'https://api.botframework.us',
  usgov: 'https://api.botframework.com',
  usgovdod: 'https://api.botframework.azure.cn',
  china: 'https://api.botframework.com',
};

describe('national clouds: the Bot Framework (createBotAuthentication)', () => {
  test.each(cases)(
    "%s: an inbound Teams token is checked against the cloud's OpenID keys and issuer; the reply's token comes from the cloud's login for its scope",
    async (cloud, want) => {
      const bot: Bot = { id: randomUUID(), password: 'the-bot-secret', type: 'SingleTenant', tenantId: randomUUID() };

      const turn = await replyInTeams(cloud, bot);

      const urls = turn.sent.map((s) => `${s.method} ${lower(s.url)}`);
      // Inbound: the cloud's OpenID metadata was fetched (then the keys it names), and the activity was accepted with the cloud's callerId.
      expect(urls[0]).toBe(`GET ${lower(want.openIdMetadata)}`);
      expect(urls).toContain(`GET ${lower(want.openIdMetadata.replace(/openidconfiguration$/, 'keys'))}`);
      expect(turn.callerId).toBe(want.callerId);
      // Outbound: one token, from the cloud's login in the bot's own tenant, for the cloud's Bot Framework scope ...
      const tokenRequests = turn.sent.filter(isTokenRequest);
      expect(tokenRequests.map((s) => endpoint(s.url))).toEqual([
        lower(`${want.botLogin}/${bot.tenantId}/oauth2/v2.0/token`),
      ]);
      const form = new URLSearchParams(tokenRequests[0]?.body);
      expect(form.get('scope')).toBe(`${want.botScope}/.default`);
      expect(form.get('client_id')).toBe(bot.id);
      // ... carried by the reply to the activity's Teams service URL ...
      const reply = turn.sent.find((s) => s.method === 'POST' && s.url.includes('/v3/conversations/'));
      expect(reply?.url.startsWith(`${want.serviceUrl}v3/conversations/`)).toBe(true);
      expect(readToken(reply?.headers.authorization)).toEqual({
        origin: want.botLogin,
        scope: `${want.botScope}/.default`,
      });
      // ... and the cloud's token service is the one asked about user tokens.
      const tokenService = turn.sent.find((s) => s.url.includes('/api/usertoken/'));
      expect(lower(tokenService?.url ?? '')).toMatch(
        new RegExp(`^${lower(want.oAuthUrl).replace(/[.]/g, '\\.')}/api/usertoken/gettokenstatus\\?`),
      );
      // Nothing went to another cloud's Bot Framework or login.
      const expectedOrigins = new Set(
        [want.openIdMetadata, want.botLogin, want.serviceUrl, want.oAuthUrl].map((u) => lower(new URL(u).origin)),
      );
      expect(turn.sent.filter((s) => !expectedOrigins.has(lower(new URL(s.url).origin)))).toEqual([]);

      // A token signed by the same keys but issued by another cloud's Bot Connector is refused.
      await expect(turn.withIssuer(otherIssuer[cloud])).rejects.toMatchObject({ statusCode: 401 });
    },
  );

  test.each(cases)(
    "%s: a multi-tenant bot requests its token in the channel's tenant of that cloud",
    async (cloud, want) => {
      const bot: Bot = { id: randomUUID(), password: 'the-bot-secret', type: 'MultiTenant' };

      const turn = await replyInTeams(cloud, bot);

      const tokenRequests = turn.sent.filter(isTokenRequest);
      expect(tokenRequests.map((s) => endpoint(s.url))).toEqual([
        lower(`${want.botLogin}/${want.channelTenant}/oauth2/v2.0/token`),
      ]);
      expect(new URLSearchParams(tokenRequests[0]?.body).get('scope')).toBe(`${want.botScope}/.default`);
    },
  );

  test.each(cases)(
    "%s: a managed-identity bot (infra/'s default) asks its identity for a token for the cloud's scope",
    async (cloud, want) => {
      const bot: Bot = { id: randomUUID(), type: 'UserAssignedMsi', tenantId: randomUUID() };
      // botbuilder gets the managed identity's token through @azure/identity's DefaultAzureCredential (IMDS in Azure).
      const asked = jest.spyOn(DefaultAzureCredential.prototype, 'getToken').mockImplementation(async (scopes) => ({
        token: tokenFrom('managed-identity', String(scopes)),
        expiresOnTimestamp: Date.now() + 3600_000,
      }));

      const turn = await replyInTeams(cloud, bot);

      expect(asked.mock.calls.map(([scopes]) => scopes)).toEqual([`${want.botScope}/.default`]);
      expect(turn.sent.filter(isTokenRequest)).toEqual([]);
      const reply = turn.sent.find((s) => s.method === 'POST' && s.url.includes('/v3/conversations/'));
      expect(readToken(reply?.headers.authorization)).toEqual({
        origin: 'managed-identity',
        scope: `${want.botScope}/.default`,
      });
    },
  );

  test("explicit endpoints (the tests' local OpenID server) win over the cloud's", async () => {
    const bot: Bot = { id: randomUUID(), password: 'the-bot-secret', type: 'MultiTenant' };
    const local = 'https://bot-framework.test';
    const endpoints: BotFrameworkEndpoints = {
      ToBotFromChannelOpenIdMetadataUrl: `${local}/v1/.well-known/openidconfiguration`,
      ToBotFromEmulatorOpenIdMetadataUrl: `${local}/v1/.well-known/openidconfiguration`,
      ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
      ToChannelFromBotLoginUrl: `${local}/botframework.com`,
      ToChannelFromBotOAuthScope: 'https://api.botframework.com',
      OAuthUrl: local,
      CallerId: 'urn:botframework:azure',
    };

    const turn = await replyInTeams('china', bot, endpoints);

    expect(`${turn.sent[0]?.method} ${turn.sent[0]?.url}`).toBe(`GET ${local}/v1/.well-known/openidconfiguration`);
    expect(turn.sent.filter(isTokenRequest).map((s) => endpoint(s.url))).toEqual([
      `${local}/botframework.com/oauth2/v2.0/token`,
    ]);
    expect(turn.callerId).toBe('urn:botframework:azure');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('national clouds: the table (src/clouds.ts)', () => {
  test("the global entry is botbuilder's public cloud, which Registrar leaves to botbuilder's defaults", () => {
    expect(clouds.global.botFramework).toEqual({
      ToBotFromChannelOpenIdMetadataUrl: AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl,
      ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
      ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
      ToChannelFromBotLoginUrl: AuthenticationConstants.ToChannelFromBotLoginUrl,
      ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
      OAuthUrl: AuthenticationConstants.OAuthUrl,
      CallerId: 'urn:botframework:azure',
    });
  });

  test("the US Government entries agree with botbuilder's GovernmentConstants but for the Teams token services (GCC High, DoD)", () => {
    for (const cloud of ['usgov', 'usgovdod'] as const) {
      expect(clouds[cloud].botFramework).toMatchObject({
        ChannelService: GovernmentConstants.ChannelService,
        ToBotFromChannelOpenIdMetadataUrl: GovernmentConstants.ToBotFromChannelOpenIdMetadataUrl,
        ToBotFromEmulatorOpenIdMetadataUrl: GovernmentConstants.ToBotFromEmulatorOpenIdMetadataUrl,
        ToBotFromChannelTokenIssuer: GovernmentConstants.ToBotFromChannelTokenIssuer,
        ToChannelFromBotLoginUrl: GovernmentConstants.ToChannelFromBotLoginUrl,
        ToChannelFromBotOAuthScope: GovernmentConstants.ToChannelFromBotOAuthScope,
      });
    }
    expect(clouds.usgov.botFramework.OAuthUrl).toBe('https://tokengcch.botframework.azure.us');
    expect(clouds.usgovdod.botFramework.OAuthUrl).toBe('https://apiDoD.botframework.azure.us');
  });
});
