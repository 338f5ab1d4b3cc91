/**
 * What a turn does not redo: a template is parsed once however many cards are made from it, and the cards whose
 * content never changes (help, the unknown-button notice) are rendered once and frozen, so every turn sends the
 * same object and none can change what the next one sends.
 */
import { Template } from 'adaptivecards-templating';
import { helpCard, renderHelp, renderNotice, unknownActionCard } from '../../../src/cards/cards';
import { deepFreeze, expandTemplate } from '../../../src/cards/render';
import { commands } from '../../../src/domain/commands';
import { properties } from './card-walk';

/** A template of its own, so that no other test's expansion has already parsed it. */
function freshTemplate(): Record<string, unknown> {
  return {
    type: 'AdaptiveCard',
    version: '1.5',
    body: [
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Hello, ${name}' }] },
      { type: 'TextBlock', text: 'Seen ${count} times', $when: '${count > 1}' },
    ],
  };
}

/**
 * Template.prepare is what the constructor parses a payload with: private in the typings, a static method of the
 * class at run time.
 */
function spyOnPrepare(): jest.SpyInstance {
  return jest.spyOn(Template as unknown as { prepare(node: unknown): unknown }, 'prepare');
}

/** Calls of Template.prepare on the payload itself (it also calls itself on every part of it). */
function preparesOf(spy: jest.SpyInstance, payload: object): number {
  return spy.mock.calls.filter(([node]) => node === payload).length;
}

describe('template parsing', () => {
  afterEach(() => jest.restoreAllMocks());

  test('when a template is expanded many times, then it is parsed once and each card still has its own data', () => {
    const prepare = spyOnPrepare();
    const template = freshTemplate();

    const cards = ['Adele', 'Megan', 'Isaiah', 'Alex'].map((name, i) => expandTemplate(template, { name, count: i }));

    expect(preparesOf(prepare, template)).toBe(1);
    expect(cards.map((c) => properties(c).find((p) => p.key === 'text')?.value)).toEqual([
      'Hello, Adele',
      'Hello, Megan',
      'Hello, Isaiah',
      'Hello, Alex',
    ]);
    expect(cards.map((c) => c.body.length)).toEqual([1, 1, 2, 2]);
    expect(cards[0]).not.toBe(cards[1]);
  });

  test('when two templates are expanded, then each is parsed once, not one for the other', () => {
    const prepare = spyOnPrepare();
    const first = freshTemplate();
    const second = freshTemplate();

    for (let i = 0; i < 3; i += 1) {
      expandTemplate(first, { name: 'first', count: 1 });
      expandTemplate(second, { name: 'second', count: 1 });
    }

    expect(preparesOf(prepare, first)).toBe(1);
    expect(preparesOf(prepare, second)).toBe(1);
    expect(
      properties(expandTemplate(second, { name: 'second', count: 1 })).some((p) => p.value === 'Hello, second'),
    ).toBe(true);
  });

  test('when a template has been parsed, then it is frozen, so the parsed copy cannot drift from it', () => {
    const template = freshTemplate();
    expandTemplate(template, { name: 'Adele', count: 1 });

    expect(() => {
      (template.body as unknown[]).push({ type: 'TextBlock', text: 'added later' });
    }).toThrow(TypeError);
    expect(() => {
      (template.body as Array<Record<string, unknown>>)[1]!.text = 'changed';
    }).toThrow(TypeError);
  });

  test('when a card is expanded, then changing it changes neither the template nor the next card', () => {
    const template = freshTemplate();
    const first = expandTemplate(template, { name: 'Adele', count: 2 });
    (first.body[1] as Record<string, unknown>).text = 'changed by the caller';
    first.body.push({ type: 'TextBlock', text: 'added by the caller' });

    const second = expandTemplate(template, { name: 'Adele', count: 2 });

    expect(second.body).toHaveLength(2);
    expect((second.body[1] as Record<string, unknown>).text).toBe('Seen 2 times');
  });
});

describe('cards rendered once', () => {
  afterEach(() => jest.restoreAllMocks());

  test.each([
    ['the help card', helpCard],
    ['the unknown-button notice', unknownActionCard],
  ])('when %s is asked for twice, then both are the same object and nothing is expanded the second time', (_, card) => {
    const first = card();
    const expand = jest.spyOn(Template.prototype, 'expand');

    const second = card();

    expect(second).toBe(first);
    expect(expand).not.toHaveBeenCalled();
  });

  test('when the help card is rendered once, then it is the card renderHelp makes for the command catalogue', () => {
    expect(helpCard()).toEqual(renderHelp({ commands }));
  });

  test('when the unknown-button notice is rendered once, then it is the notice it always was', () => {
    expect(unknownActionCard()).toEqual(
      renderNotice({
        tone: 'info',
        title: 'This button no longer works',
        text: 'Registrar no longer knows this action. Type "help" to see what it can do.',
      }),
    );
  });

  test.each([
    ['the help card', helpCard],
    ['the unknown-button notice', unknownActionCard],
  ])('when a turn tries to change %s, then it cannot, at any depth', (_, card) => {
    const shared = card();
    for (const { owner } of properties(shared)) expect(Object.isFrozen(owner)).toBe(true);
    expect(Object.isFrozen(shared)).toBe(true);
    expect(() => {
      shared.version = '1.0';
    }).toThrow(TypeError);
    expect(() => {
      shared.body.push({ type: 'TextBlock', text: 'injected' });
    }).toThrow(TypeError);
    expect(() => {
      (shared.body[0] as Record<string, unknown>).type = 'Image';
    }).toThrow(TypeError);
    expect(card()).toEqual(shared);
  });
});

describe('deepFreeze', () => {
  test('when an object is frozen, then every object and array inside it is frozen too, and it is returned', () => {
    const value = { a: [{ b: { c: 1 } }, 'text'], d: { e: [] as unknown[] } };

    expect(deepFreeze(value)).toBe(value);

    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.a)).toBe(true);
    expect(Object.isFrozen(value.a[0])).toBe(true);
    expect(Object.isFrozen((value.a[0] as { b: object }).b)).toBe(true);
    expect(Object.isFrozen(value.d.e)).toBe(true);
  });

  test('when an object inside is already frozen, then what that object holds is frozen all the same', () => {
    const inner = { deep: { x: 1 } };
    const value = { outer: Object.freeze(inner) };

    deepFreeze(value);

    expect(Object.isFrozen(inner.deep)).toBe(true);
  });
});
