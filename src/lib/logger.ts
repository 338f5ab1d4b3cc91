/**
 * JSON logs through pino. Redaction is the second line of defence (the first: secrets are never passed to a
 * logger). It recognises secrets by their shape: strings that look like an Entra client secret, a JWT, a bearer
 * token, a PEM private key, a storage account key or shared access signature, or a `client_secret=` parameter are
 * replaced wherever they sit (in the logged object, a child logger's bindings, an error, however deep), and every
 * line is searched once more just before it is written, whatever path it took. A field name alone never hides a
 * number or a boolean: `{ credentials: 3 }` is a count and shows.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

/**
 * Field names that only ever hold a secret. A string under one is redacted whatever its shape, because a
 * password or a test secret need not look like one; a number, a boolean or an empty string under one cannot be a
 * secret and shows, and an object under one is walked like any other. Names that also hold harmless values
 * (`key`, `credential`, `credentials`, `signature`) are not here: their secrets are caught by shape.
 */
const secretKey =
  /^(authorization|proxy-authorization|cookie|set-cookie|password|passwd|pwd|secret|secrettext|clientsecret|client_secret|client_assertion|botpassword|bot_password|microsoftapppassword|azure_client_secret|accesstoken|access_token|refreshtoken|refresh_token|idtoken|id_token|token|privatekey|private_key|connectionstring|connection_string|storage_connection_string|sig)$/i;

/**
 * One character of an Entra client secret: letters, digits and `_ . ~ -`, the tilde also percent-encoded as a
 * form body or URLSearchParams writes it. Every one of them may be the first: no word boundary before it.
 */
const SECRET_CHAR = '(?:[A-Za-z0-9_.~-]|%7[Ee])';

/** Parameter and JSON property names whose value is a secret when they appear inside a longer text. */
const SECRET_PARAM = '(?:client_secret|client_assertion|password|secretText|access_token|refresh_token|id_token)';

/**
 * Secret shapes, each with what of the match to keep (a parameter's name, "Bearer "). None matches a `"` or a
 * backslash inside the part it replaces, so that redacting a whole JSON line never changes its structure.
 */
const secretShapes: readonly { pattern: RegExp; keep?: string }[] = [
  // An Entra client secret: three characters, a digit, "Q~", then the rest (40 characters in all).
  { pattern: new RegExp(`${SECRET_CHAR}{3}\\dQ(?:~|%7[Ee])${SECRET_CHAR}{31,34}`, 'g') },
  // A JWT (an access, id or client assertion token): three base64url parts, the header's starting `{"`.
  { pattern: /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  // An HTTP bearer token of any format (RFC 6750's b64token), long enough not to be a word in a sentence.
  { pattern: /\b(Bearer\s+)[A-Za-z0-9._~+/-]{16,}=*/gi, keep: '$1' },
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[^"\\]|\\[\s\S])*?-----END [A-Z ]*PRIVATE KEY-----/g },
  // Azure Storage connection strings and SAS URLs.
  { pattern: /\b(AccountKey=)[^;\s"\\]+/gi, keep: '$1' },
  { pattern: /\b(SharedAccessSignature=)[^;\s"\\]+/gi, keep: '$1' },
  { pattern: /\b(sig=)[A-Za-z0-9%+/=]+/gi, keep: '$1' },
  // A secret parameter in a URL's query or a form body, and a secret property in JSON text (raw or escaped).
  { pattern: new RegExp(`\\b(${SECRET_PARAM}=)[^&\\s"\\\\]+`, 'gi'), keep: '$1' },
  { pattern: new RegExp(`("${SECRET_PARAM}"\\s*:\\s*")[^"\\\\]+(?=")`, 'gi'), keep: '$1' },
  { pattern: new RegExp(`(\\\\"${SECRET_PARAM}\\\\"\\s*:\\s*\\\\")[^"\\\\]+(?=\\\\")`, 'gi'), keep: '$1' },
];

export function redactText(text: string): string {
  let out = text;
  for (const { pattern, keep } of secretShapes) out = out.replace(pattern, `${keep ?? ''}${CENSOR}`);
  return out;
}

/** The value of a field in a logged object: a non-empty string under a secret name is hidden whatever its shape. */
function redactField(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string' && value !== '' && secretKey.test(key)) return CENSOR;
  return redact(value, depth + 1, seen);
}

/** Returns a copy of `value` with secret-shaped strings replaced. Errors keep message and stack. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactText(value.message) };
    if (value.stack) out.stack = redactText(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = redactField(k, v, depth, seen);
    if (value.cause !== undefined) out.cause = redact(value.cause, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactField(k, v, depth, seen);
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
