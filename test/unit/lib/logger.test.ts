import { createLogger } from '../../../src/lib/logger';
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
