/**
 * Redaction against the secrets Entra would hand out: 100,000 of them from the local tenant's own generator, put
 * in every place a log line can carry text, must be found nowhere in what Registrar's logger writes. The same
 * lines written by a plain pino logger show every one of them, so each secret is known to sit in a logged place.
 */
import pino, { type Logger } from 'pino';
import { createLogger } from '../../../src/lib/logger';
import { newClientSecret } from '../../../src/local/tenant/routes/credentials';
import { LogCapture } from '../../helpers/logs';

const COUNT = 100_000;
const PER_LINE = 25;

/** Writes every secret into some log line, `PER_LINE` at a time, turning through the shapes a line can take. */
function logEverywhere(root: Logger, secrets: readonly string[]): number {
  let placed = 0;
  const shapes: ((batch: readonly string[]) => void)[] = [
    // The message, alone and after an object; a secret next to other text.
    (batch) => root.info(`token request failed for ${batch.join(' and ')}`),
    (batch) => root.warn({ step: 'reveal' }, `got ${batch.map((s) => `[${s}]`).join('')}`),
    // Nested objects and arrays, under innocent and secret-looking names.
    (batch) =>
      root.info(
        { result: { items: batch.map((s, i) => ({ index: i, value: s })) }, clientSecret: 'n/a' },
        'graph answered',
      ),
    (batch) => root.info({ a: { b: { c: [...batch] } } }, 'deep'),
    // Errors: message, stack, cause (several levels), own properties; under err and as the first argument.
    (batch) => {
      const half = Math.ceil(batch.length / 2);
      const inner = new Error(`inner ${batch.slice(half, half + 3).join(',')}`);
      const cause = new Error(`cause ${batch.slice(half + 3).join(',')}`, { cause: inner });
      const err = Object.assign(
        new Error(`AADSTS7000215: invalid client secret ${batch.slice(0, half).join(' ')}`, { cause }),
        {
          detail: `body ${batch[0]}`,
        },
      );
      root.error({ err }, 'addPassword failed');
    },
    (batch) => root.error(new TypeError(`bad ${batch.join(';')}`)),
    // Child bindings at several levels, objects and strings, and bindings set later.
    (batch) => {
      const [first, second, ...rest] = batch;
      root
        .child({ requestId: 'r-1', first })
        .child({ nested: { second } })
        .child({ list: rest.slice(0, 10), url: `https://example.test/cb?secret=${rest[10] ?? ''}` })
        .info({ rest: rest.slice(11) }, 'child line');
    },
    (batch) => {
      const child = root.child({ scope: 'turn' });
      child.setBindings({ later: batch.join(' ') });
      child.info('bindings set later');
    },
    // Inside longer strings: a URL, a form body (URLSearchParams writes ~ as %7E), JSON text.
    (batch) =>
      root.info(
        {
          url: batch
            .map((s) => `https://login.microsoftonline.com/t/oauth2/v2.0/token?client_secret=${s}&scope=x`)
            .join(' '),
        },
        'calling',
      ),
    (batch) =>
      root.info(
        { body: batch.map((s) => new URLSearchParams({ client_id: 'c', client_secret: s }).toString()).join('&') },
        'posting',
      ),
    (batch) =>
      root.info(
        { response: JSON.stringify({ value: batch.map((s) => ({ secretText: s, hint: s.slice(0, 3) })) }) },
        'graph body',
      ),
    // Format arguments.
    (batch) => root.info('answer %j and %s', { secretText: batch[0] }, batch.slice(1).join(',')),
  ];
  for (let start = 0, turn = 0; start < secrets.length; start += PER_LINE, turn += 1) {
    const batch = secrets.slice(start, start + PER_LINE);
    shapes[turn % shapes.length]!(batch);
    placed += batch.length;
  }
  return placed;
}

/** Every generated secret found in the text, raw or with its tildes percent-encoded. */
function secretsIn(text: string, secrets: ReadonlySet<string>): Set<string> {
  const decoded = text.replace(/%7e/gi, '~');
  const found = new Set<string>();
  // Every secret of the generator holds "8Q~" at its fourth character.
  for (let i = decoded.indexOf('8Q~'); i !== -1; i = decoded.indexOf('8Q~', i + 1)) {
    const candidate = decoded.slice(i - 3, i + 37);
    if (secrets.has(candidate)) found.add(candidate);
  }
  return found;
}

describe('redaction of generated Entra client secrets', () => {
  const secrets = Array.from({ length: COUNT }, () => newClientSecret());
  const all = new Set(secrets);

  test('the generator makes secrets of every shape the redaction must know (~, . and - among the first three)', () => {
    expect(all.size).toBe(COUNT);
    expect(secrets.some((s) => s.slice(0, 3).includes('~'))).toBe(true);
    expect(secrets.some((s) => s.startsWith('.'))).toBe(true);
    expect(secrets.some((s) => s.startsWith('-'))).toBe(true);
  });

  test('when the lines are written by a plain pino logger, then every secret shows: each sits in a logged place', () => {
    const capture = new LogCapture();
    expect(logEverywhere(pino({ base: null }, capture), secrets)).toBe(COUNT);
    expect(secretsIn(capture.text, all).size).toBe(COUNT);
  });

  test('when 100,000 generated secrets are logged in messages, objects, errors, child bindings, URLs and JSON text, then none reaches any line', () => {
    const capture = new LogCapture();
    expect(logEverywhere(createLogger({ destination: capture, level: 'trace' }), secrets)).toBe(COUNT);

    expect(capture.lines.length).toBe(COUNT / PER_LINE);
    expect([...secretsIn(capture.text, all)].slice(0, 5)).toEqual([]);
    // Redaction keeps the lines readable: every line is still JSON and keeps what is not secret.
    const entries = capture.entries;
    expect(entries.filter((e) => e.msg === 'child line').every((e) => e.requestId === 'r-1')).toBe(true);
    expect(entries.some((e) => String(e.url).includes('[redacted]&scope=x'))).toBe(true);
    expect(
      entries.some(
        (e) =>
          typeof e.response === 'string' && (JSON.parse(e.response) as { value: unknown[] }).value.length === PER_LINE,
      ),
    ).toBe(true);
  });
});
