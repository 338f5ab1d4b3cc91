/**
 * JSON logs through pino. Redaction is the second line of defence (the first: secrets are never passed to a
 * logger): fields whose names look secret, and strings that look like tokens or Entra client secrets, are
 * replaced wherever they sit in the logged object or a child logger's bindings, however deep; and every line
 * is searched for secret-shaped strings once more just before it is written, whatever path it took.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

/** Field names whose values are never logged. */
const secretKey =
  /^(authorization|cookie|set-cookie|password|passwd|secret|secrettext|clientsecret|client_secret|client_assertion|botpassword|bot_password|azure_client_secret|accesstoken|access_token|refresh_token|id_token|token|privatekey|private_key|key|connectionstring|connection_string|sig|signature|credential|credentials)$/i;

/**
 * One character of an Entra client secret: letters, digits and `_ . ~ -`, the tilde also percent-encoded as a
 * form body or URLSearchParams writes it. Every one of them may be the first: no word boundary before it.
 */
const SECRET_CHAR = '(?:[A-Za-z0-9_.~-]|%7[Ee])';

/**
 * Strings that look like a JWT, an Entra client secret (three characters, a digit, "Q~", then the rest), or a
 * connection string's account key. None matches a `"` or a backslash, so that redacting a whole JSON line
 * never changes its structure.
 */
const secretValue = [
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  new RegExp(`${SECRET_CHAR}{3}\\dQ(?:~|%7[Ee])${SECRET_CHAR}{31,34}`, 'g'),
  /AccountKey=[^;\s"\\]+/gi,
  /SharedAccessSignature=[^;\s"\\]+/gi,
  /\bsig=[A-Za-z0-9%+/=]+/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[^"\\]|\\[\s\S])*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

export function redactText(text: string): string {
  let out = text;
  for (const pattern of secretValue) out = out.replace(pattern, CENSOR);
  return out;
}

/** Returns a copy of `value` with secret-shaped fields and strings replaced. Errors keep message and stack. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
    if (value.stack) out.stack = redactText(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) ? CENSOR : redact(v, depth + 1, seen);
    if (value.cause !== undefined) out.cause = redact(value.cause, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = secretKey.test(k) && v != null && v !== '' ? CENSOR : redact(v, depth + 1, seen);
  return out;
}

export interface LoggerOptions {
  level?: string;
  /** Where the JSON lines go (stdout by default); tests pass a capturing stream. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'registrar', ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every object logged, including err, passes through redact(); so do the base bindings. Messages are fixed
      // strings by convention; they, format arguments and anything else are covered by streamWrite.
      formatters: {
        log: (object) => redact(object) as Record<string, unknown>,
        bindings: (bindings) => redact(bindings) as pino.Bindings,
      },
      hooks: { streamWrite: redactText },
      serializers: { err: (err: unknown) => redact(err) },
    },
    options.destination,
  );
  // pino serialises a child's bindings once, when the child is made, and without formatters.bindings; so they
  // are redacted on the way in. Children are made with Object.create(parent): these two reach every descendant.
  const child = logger.child;
  const setBindings = logger.setBindings;
  logger.child = function redactedChild(this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
    return Reflect.apply(child, this, [redact(bindings), childOptions]) as Logger;
  } as unknown as Logger['child'];
  logger.setBindings = function redactedSetBindings(this: Logger, bindings: pino.Bindings) {
    Reflect.apply(setBindings, this, [redact(bindings)]);
  };
  return logger;
}
