import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createLogger } from '../../../src/lib/logger';
import { newClientSecret } from '../../../src/local/tenant/routes/credentials';
import { LogCapture } from '../../helpers/logs';

const entraSecret = 'Xy78Q~abcdefghijklmnopqrstuvwxyz0123456';
const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl';

describe('logger redaction', () => {
  test('when objects with secret-named fields are logged at any depth, then their values never reach the output', () => {
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    log.info(
      {
        secretText: 'plain-secret-1',
        credential: { password: 'plain-secret-2', hint: 'pla' },
        nested: { deeper: [{ client_secret: 'plain-secret-3', keyId: 'k-1' }] },
        headers: { Authorization: 'Bearer plain-secret-4' },
      },
      'credential created',
    );

    expect(capture.text).not.toMatch(/plain-secret-\d/);
    const [entry] = capture.entries;
    expect(entry).toMatchObject({
      msg: 'credential created',
      nested: { deeper: [{ keyId: 'k-1', client_secret: '[redacted]' }] },
    });
  });

  test('when a token or an Entra client secret appears inside a message, an error or a free-text field, then it is redacted', () => {
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    log.warn({ note: `token was ${jwt}` }, `failed with ${entraSecret}`);
    log.error({ err: new Error(`AADSTS7000215 for secret ${entraSecret}`) }, 'token request failed');
    log.info(
      {
        connection: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net',
      },
      'storage',
    );

    expect(capture.text).not.toContain(entraSecret);
    expect(capture.text).not.toContain(jwt);
    expect(capture.text).not.toContain('bXlrZXk=');
    expect(capture.text).toContain('AADSTS7000215');
  });

  test('when child loggers are bound with secret-named fields and secret values at several levels, then neither reaches the output', () => {
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    const turn = log
      .child({ password: 'plain-secret-5', requestId: 'r-7' })
      .child({ call: { url: `https://x.test/?s=${entraSecret}` } });
    turn.child({ token: jwt }).info('graph call');
    turn.setBindings({ secretText: 'plain-secret-6' });
    turn.info('again');

    expect(capture.text).not.toMatch(/plain-secret-\d/);
    expect(capture.text).not.toContain(entraSecret);
    expect(capture.text).not.toContain(jwt);
    expect(capture.entries[0]).toMatchObject({
      requestId: 'r-7',
      password: '[redacted]',
      call: { url: 'https://x.test/?s=[redacted]' },
      msg: 'graph call',
    });
  });

  test('when an error is logged, then its type, message and stack are kept', () => {
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    log.error({ err: new TypeError('boom') }, 'turn failed');

    expect(capture.entries[0]).toMatchObject({ err: { type: 'TypeError', message: 'boom' } });
    expect(String((capture.entries[0]!.err as { stack: string }).stack)).toContain('logger.test.ts');
  });
});

/** Secrets of the real shapes, made fresh for each run: none of them is, or ever was, a live credential. */
function generatedSecrets() {
  const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
  const jwtToken = [
    base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: randomBytes(8).toString('hex') })),
    base64url(JSON.stringify({ aud: 'https://graph.microsoft.com', oid: randomUUID(), exp: 1_900_000_000 })),
    base64url(randomBytes(256)),
  ].join('.');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    entraSecret: newClientSecret(),
    jwt: jwtToken,
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ecPem: ecKey.export({ type: 'sec1', format: 'pem' }).toString(),
    accountKey: randomBytes(64).toString('base64'),
    sasSignature: encodeURIComponent(randomBytes(32).toString('base64')),
    opaqueBearer: randomBytes(32).toString('base64url'),
    // A secret of no particular shape: only where it sits (after client_secret=, under a secret name) gives it away.
    plain: `plain-${randomBytes(12).toString('hex')}`,
  };
}

describe('logger redaction by shape', () => {
  test('when counts and flags are logged under names that sound secret, then they show: a number or a boolean is never a secret', () => {
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    log.info(
      { credentials: 3, credential: 1, secret: false, token: 0, key: 'reminder:app-1:k-1:30', password: '' },
      'expiry digest posted',
    );

    expect(capture.entries[0]).toMatchObject({
      credentials: 3,
      credential: 1,
      secret: false,
      token: 0,
      key: 'reminder:app-1:k-1:30',
      password: '',
    });
    expect(capture.text).not.toContain('[redacted]');
  });

  test('when secrets of every known shape are logged under innocent names, in messages and in errors, then none reaches the output and the rest of each line stays', () => {
    const s = generatedSecrets();
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    log.info({ value: s.entraSecret, list: [s.jwt], detail: { pem: s.pkcs8Pem, ec: s.ecPem } }, 'graph answered');
    log.info(
      {
        storage: `DefaultEndpointsProtocol=https;AccountName=registrar;AccountKey=${s.accountKey};EndpointSuffix=core.windows.net`,
        blob: `https://registrar.blob.core.windows.net/c/lock.json?sv=2022-11-02&se=2026-12-01&sp=r&sig=${s.sasSignature}`,
        sas: `BlobEndpoint=https://registrar.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=${s.sasSignature}`,
        headers: { 'x-forwarded': `Bearer ${s.opaqueBearer}` },
        url: `https://login.microsoftonline.com/t/oauth2/v2.0/token?client_id=c-1&client_secret=${s.plain}&scope=x`,
        body: `grant_type=client_credentials&client_secret=${encodeURIComponent(s.plain)}`,
        response: JSON.stringify({ keyId: 'k-1', secretText: s.plain, hint: 'pla' }),
      },
      'calling',
    );
    log.error({ err: new Error(`token request failed with Bearer ${s.opaqueBearer}`) }, 'token request failed');
    log.warn(`answer ${JSON.stringify({ client_secret: s.plain })}`);

    for (const secret of [
      s.entraSecret,
      s.jwt,
      s.accountKey,
      s.sasSignature,
      s.opaqueBearer,
      s.plain,
      ...s.pkcs8Pem.split('\n').slice(1, -2),
      ...s.ecPem.split('\n').slice(1, -2),
    ])
      expect(capture.text).not.toContain(secret);
    const [answered, calling, failed, answer] = capture.entries;
    expect(answered).toMatchObject({ value: '[redacted]', list: ['[redacted]'], detail: { pem: '[redacted]\n' } });
    expect(calling).toMatchObject({
      storage:
        'DefaultEndpointsProtocol=https;AccountName=registrar;AccountKey=[redacted];EndpointSuffix=core.windows.net',
      headers: { 'x-forwarded': 'Bearer [redacted]' },
      url: 'https://login.microsoftonline.com/t/oauth2/v2.0/token?client_id=c-1&client_secret=[redacted]&scope=x',
    });
    expect(String(calling!.blob)).toMatch(/&sig=\[redacted\]$/);
    expect(JSON.parse(String(calling!.response))).toEqual({ keyId: 'k-1', secretText: '[redacted]', hint: 'pla' });
    expect(failed).toMatchObject({ err: { message: 'token request failed with Bearer [redacted]' } });
    expect(answer!.msg).toBe('answer {"client_secret":"[redacted]"}');
  });

  test('when a string of no known shape sits under a name that only holds secrets, then it is redacted; under other names it shows', () => {
    const s = generatedSecrets();
    const capture = new LogCapture();
    const log = createLogger({ destination: capture });

    log.info(
      { clientSecret: s.plain, password: s.plain, token: s.plain, note: 'bearer tokens are checked', hint: 'pla' },
      'configured',
    );

    expect(capture.text).not.toContain(s.plain);
    expect(capture.entries[0]).toMatchObject({
      clientSecret: '[redacted]',
      password: '[redacted]',
      token: '[redacted]',
      note: 'bearer tokens are checked',
      hint: 'pla',
    });
  });
});
