/**
 * Every Action.Execute verb in a card is routed, and every routed verb is used by some card: a button that
 * nothing answers, or a handler nothing can reach, fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BotServices, cardActionRoutes } from '../../../src/bot/app';
import { Verb } from '../../../src/cards/verbs';

const cardsDir = join(__dirname, '../../../adaptiveCards');

/** Verbs written in templates, and `${verb...}` bindings that the renderers fill from Verb. */
function verbsInTemplates(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (node: unknown, file: string) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, file));
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.type === 'Action.Execute' && typeof n.verb === 'string')
      found.set(n.verb, [...(found.get(n.verb) ?? []), file]);
    Object.values(n).forEach((v) => walk(v, file));
  };
  for (const file of readdirSync(cardsDir).filter((f) => f.endsWith('.json'))) {
    walk(JSON.parse(readFileSync(join(cardsDir, file), 'utf8')), file);
  }
  return found;
}

/** The renderers put verbs into templates from Verb; resolve a template's `${...}` verb binding to the Verb value it names. */
function resolvedVerbs(): Set<string> {
  const values = new Set<string>(Object.values(Verb));
  const resolved = new Set<string>();
  for (const verb of verbsInTemplates().keys()) {
    if (values.has(verb)) resolved.add(verb);
    else if (verb.startsWith('${')) {
      // A binding such as ${verbs.showHelp}: the key after the last dot names the Verb entry.
      const key = /([A-Za-z]+)\}$/.exec(verb)?.[1] as keyof typeof Verb | undefined;
      resolved.add(key && key in Verb ? Verb[key] : verb);
    } else resolved.add(verb);
  }
  return resolved;
}

describe('card verbs and routes', () => {
  test('when a card has an Action.Execute, then its verb is a Verb value with a route', () => {
    const routed = new Set(Object.keys(cardActionRoutes({} as BotServices)));

    for (const verb of resolvedVerbs()) expect(routed).toContain(verb);
  });

  test('when a verb is routed, then some card uses it', () => {
    const used = resolvedVerbs();

    for (const verb of Object.keys(cardActionRoutes({} as BotServices))) expect(used).toContain(verb);
  });

  test('when the templates are read, then at least one Action.Execute is found (the check is not vacuous)', () => {
    expect(verbsInTemplates().size).toBeGreaterThan(0);
  });
});
