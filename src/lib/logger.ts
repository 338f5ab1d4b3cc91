/**
 * JSON logs through pino. Redaction is the second line of defence (the first: secrets are never passed to a
 * logger): fields whose names look secret, and strings that look like tokens or Entra client secrets, are
 * replaced wherever they sit in the logged object, however deep.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

/** Field names whose values are never logged. */
const secretKey =
  /^(authorization|cookie|set-cookie|password|passwd|secret|secrettext|clientsecret|client_secret|client_assertion|botpassword|bot_password|azure_client_secret|accesstoken|access_token|refresh_token|id_token|token|privatekey|private_key|key|connectionstring|connection_string|sig|signature|credential|credentials)$/i;

/** Strings that look like a JWT, an Entra client secret, or a connection string's account key. */
const secretValue = [
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /\b[A-Za-z0-9_.-]{3}\dQ~[A-Za-z0-9_.~-]{31,34}/g,
  /AccountKey=[^;\s]+/gi,
  /SharedAccessSignature=[^;\s]+/gi,
  /\bsig=[A-Za-z0-9%+/=]+/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
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
  for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) && v != null && v !== '' ? CENSOR : redact(v, depth + 1, seen);
  return out;
}

export interface LoggerOptions {
  level?: string;
  /** Where the JSON lines go (stdout by default); tests pass a capturing stream. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'registrar', ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every object logged, including err, passes through redact(); messages are fixed strings by convention
      // but are redacted too.
      formatters: { log: (object) => redact(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg)) as Parameters<typeof method>;
          return method.apply(this, redacted);
        },
      },
      serializers: { err: (err: unknown) => redact(err) },
    },
    options.destination,
  );
}
