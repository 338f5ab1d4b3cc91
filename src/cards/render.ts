import { Template } from 'adaptivecards-templating';
import type { AdaptiveCard } from './adaptive-card';

/**
 * Card expansion, and the rules that keep text from people and directories (display names, team and channel
 * names, later app names and justifications) from ever becoming card structure, links, emphasis or code.
 *
 * Three layers, each enough on its own for most attacks, together for all of them:
 * 1. `safeText` cleans and caps each user-supplied value (control and invisible characters, length).
 * 2. `expandTemplate` neutralises every string of the data before expansion: `${` and `{{` get a zero-width
 *    space, so neither templating (now, or if a card is ever expanded again) nor Teams' `{{DATE()}}`/`{{TIME()}}`
 *    can evaluate them, and `$`-prefixed keys ($when, $data, ...) are dropped. It then refuses any `${` left in
 *    the output: with the data neutralised, that can only be a template binding the data did not satisfy.
 * 3. The templates put data only in `TextRun`s, whose text is not processed as markdown (a TextBlock's is).
 *
 * What adaptivecards-templating 2.3.1 does, checked in test/unit/cards/cards-injection.test.ts: it parses `${...}`
 * in the template only, so `${...}` in a data value is copied literally, not evaluated; but a later expansion of
 * that output would evaluate it, a field that is missing is replaced by the literal text `${field}`, a
 * single-expression binding inserts objects and arrays as they are (with any `$when` inside), and a null inside
 * an interpolated string throws a TypeError.
 */

/** Length caps, in characters, for text that comes from people or from the directory. */
export const TextLimit = {
  /** A person's display name. */
  personName: 120,
  /** A Teams team or channel name (Teams allows 256 and 50). */
  placeName: 120,
  /** A short bot-written line that may quote user text (a notice title). */
  title: 150,
  /** A paragraph (a notice text, a justification). */
  paragraph: 1000,
  /** An identifier shown for support (a request id, a correlation id). */
  reference: 100,
} as const;

const ZWSP = '\u200B';

// C0 controls except tab and newline (handled below), DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
// Invisible formatting that can reorder or hide text: bidi embeddings, overrides and isolates, zero-width
// characters, the word joiner family, the BOM, interlinear annotations.
const INVISIBLE = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * User-supplied text made fit for a card: no control or invisible characters, whitespace collapsed (newlines
 * kept, at most one blank line in a row, when `multiline`), trimmed, and at most `max` characters (code points)
 * with an ellipsis when cut. Anything that is not a string becomes ''.
 */
export function safeText(value: unknown, options: { max: number; multiline?: boolean }): string {
  if (typeof value !== 'string') return '';
  let text = value
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROL, '')
    .replace(INVISIBLE, '');
  text = options.multiline
    ? text
        .split('\n')
        .map((line) => line.replace(/\s+/g, ' ').trim())
        .join('\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim()
    : text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(text);
  if (chars.length <= options.max) return text;
  return (
    chars
      .slice(0, Math.max(0, options.max - 1))
      .join('')
      .trimEnd() + '…'
  );
}

/**
 * Expands a card template with data. Every string of the data is neutralised (see the top of this file), keys
 * starting with `$` are dropped from the data, null and undefined values are left out, and the result must be
 * an AdaptiveCard with no `${` left in it.
 */
export function expandTemplate(template: object, data: object): AdaptiveCard {
  const expanded: unknown = parsedTemplate(template).expand({ $root: cleanData(data, 'data') });
  const card = stripTemplateKeys(expanded);
  if (!isAdaptiveCard(card)) {
    throw new Error(
      'Expanding a card template did not give an AdaptiveCard: check that the template has "type": "AdaptiveCard", a "version" and a "body" array, and no "$when" on its root.',
    );
  }
  const unresolved = findUnresolved(card, '$');
  if (unresolved) {
    throw new Error(
      `A card template left ${JSON.stringify(unresolved.text)} unresolved at ${unresolved.path}: give the renderer's data that field, or guard the element with "$when": "\${exists(field)}".`,
    );
  }
  return card;
}

/**
 * Each template payload's Template, built on its first expansion and kept: building one parses every `${...}` of
 * the payload into an Adaptive Expression (most of what an expansion costs), and the payloads are the JSON files
 * of adaptiveCards/, the same objects for the life of the process. The payload is frozen when its Template is
 * made, so that the parsed copy can never drift from it. Template.expand is synchronous and starts from a fresh
 * evaluation context on every call, so one Template serves every turn.
 * https://learn.microsoft.com/adaptive-cards/templating/sdk
 */
const templates = new WeakMap<object, Template>();

function parsedTemplate(payload: object): Template {
  let template = templates.get(payload);
  if (!template) {
    template = new Template(deepFreeze(payload));
    templates.set(payload, template);
  }
  return template;
}

/**
 * Freezes `value` and everything inside it, and returns it: for cards that are rendered once and then sent on
 * every turn (a change to one would reach every later turn), and for the template payloads above.
 */
export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item, seen);
  return value;
}

/** Breaks `${` and `{{`, including across a join with template text (a string that starts with `{` or ends with `$` or `{`). */
function neutralise(text: string): string {
  let out = text.replace(/\$(?=\{)/g, '$' + ZWSP).replace(/\{(?=\{)/g, '{' + ZWSP);
  if (out.startsWith('{')) out = ZWSP + out;
  if (out.endsWith('$') || out.endsWith('{')) out += ZWSP;
  return out;
}

const MAX_DEPTH = 20;

function cleanData(value: unknown, path: string, depth = 0): unknown {
  if (depth > MAX_DEPTH)
    throw new Error(`Card data is nested deeper than ${MAX_DEPTH} levels at ${path}: pass the card a flat view model.`);
  if (typeof value === 'string') return neutralise(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (Array.isArray(value)) {
    return value.map((item, i) => cleanData(item, `${path}[${i}]`, depth + 1)).filter((item) => item !== undefined);
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$')) continue;
      const cleaned = cleanData(item, `${path}.${key}`, depth + 1);
      if (cleaned !== undefined) out[key] = cleaned;
    }
    return out;
  }
  // null, undefined, functions, symbols, bigints: left out, so a binding to them is reported as unresolved.
  return undefined;
}

/** Templating drops the reserved keys it evaluates; this also drops any that reached the output another way. */
function stripTemplateKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripTemplateKeys);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '$when' || key === '$data') continue;
      out[key] = stripTemplateKeys(item);
    }
    return out;
  }
  return value;
}

function findUnresolved(value: unknown, path: string): { path: string; text: string } | undefined {
  if (typeof value === 'string') return value.includes('${') ? { path, text: value } : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnresolved(item, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const found = findUnresolved(key, `${path} (key)`) ?? findUnresolved(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function isAdaptiveCard(value: unknown): value is AdaptiveCard {
  if (typeof value !== 'object' || value === null) return false;
  const card = value as Record<string, unknown>;
  return card.type === 'AdaptiveCard' && typeof card.version === 'string' && Array.isArray(card.body);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "23 Nov 2026, 09:15 UTC". */
export function formatUtc(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new RangeError(`Cannot show ${JSON.stringify(String(value))} as a date: pass a Date or an ISO 8601 string.`);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}
