import { Verb } from '../../../src/cards/verbs';

/** Pure helpers over rendered card JSON (no adaptivecards library, so usable in the node environment too). */

export type Json = Record<string, unknown>;

export interface Property {
  path: string;
  owner: Json;
  key: string;
  value: unknown;
}

/** Every property of every object in the card, depth first. */
export function properties(value: unknown, path = '$'): Property[] {
  const out: Property[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => out.push(...properties(item, `${path}[${i}]`)));
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      out.push({ path: `${path}.${key}`, owner: value, key, value: item });
      out.push(...properties(item, `${path}.${key}`));
    }
  }
  return out;
}

export function strings(card: unknown): Array<Property & { value: string }> {
  return properties(card).filter((p): p is Property & { value: string } => typeof p.value === 'string');
}

/** Every object in the card whose `type` is one of `types`. */
export function objectsOfType(card: unknown, ...types: string[]): Json[] {
  const found: Json[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isObject(value)) {
      if (typeof value.type === 'string' && types.includes(value.type)) found.push(value);
      Object.values(value).forEach(visit);
    }
  };
  visit(card);
  return found;
}

/** The text as a person reads it: one entry per TextBlock, per RichTextBlock (its runs joined) and per Fact, zero-width spaces removed. */
export function texts(card: unknown): string[] {
  const out: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isObject(value)) {
      if (value.type === 'TextBlock' && typeof value.text === 'string') out.push(value.text);
      if (value.type === 'RichTextBlock' && Array.isArray(value.inlines)) {
        out.push(
          value.inlines
            .map((run) =>
              typeof run === 'string' ? run : isObject(run) && typeof run.text === 'string' ? run.text : '',
            )
            .join(''),
        );
      }
      if (value.type === 'FactSet' && Array.isArray(value.facts)) {
        for (const fact of value.facts) if (isObject(fact)) out.push(`${String(fact.title)}: ${String(fact.value)}`);
      }
      Object.values(value).forEach(visit);
    }
  };
  visit(card);
  return out.map(visible);
}

export function visible(text: string): string {
  return text.replace(/\u200B/g, '');
}

/**
 * The card with every string but `type` blanked: two cards with the same shape have the same elements, actions
 * and properties, whatever their text.
 */
export function shape(card: unknown): string {
  return JSON.stringify(card, (key, value: unknown) => (typeof value === 'string' && key !== 'type' ? '' : value));
}

export const maxCardBytes = 28 * 1024;

export function cardBytes(card: unknown): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

/** What the adaptivecards library does not check and Teams needs. An empty list means the card passes. */
export function extraProblems(card: unknown): string[] {
  const problems: string[] = [];
  const verbs: readonly string[] = Object.values(Verb);
  if (!isObject(card) || card.type !== 'AdaptiveCard') problems.push('the root is not an AdaptiveCard');
  if (isObject(card) && card.version !== '1.5') problems.push(`version is ${JSON.stringify(card.version)}, not "1.5"`);
  for (const action of objectsOfType(card, 'Action.Execute')) {
    const verb = action.verb;
    if (typeof verb !== 'string' || verb === '')
      problems.push(`Action.Execute ${JSON.stringify(action.title)} has no verb`);
    else if (!verbs.includes(verb))
      problems.push(`Action.Execute ${JSON.stringify(action.title)} has verb "${verb}", which is not a value of Verb`);
  }
  for (const action of objectsOfType(card, 'Action.OpenUrl')) {
    if (typeof action.url !== 'string' || action.url === '')
      problems.push(`Action.OpenUrl ${JSON.stringify(action.title)} has no url`);
  }
  for (const s of strings(card)) {
    if (s.value.includes('${')) problems.push(`unresolved expression at ${s.path}: ${s.value}`);
  }
  const bytes = cardBytes(card);
  if (bytes >= maxCardBytes) problems.push(`the card is ${bytes} bytes, over ${maxCardBytes}`);
  return problems;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
