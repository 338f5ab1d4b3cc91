/** @jest-environment jsdom */
import { Template } from 'adaptivecards-templating';
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderChannelSet, renderHelp, renderNotice, renderWelcome } from '../../../src/cards/cards';
import { expandTemplate, safeText, TextLimit } from '../../../src/cards/render';
import { commands } from '../../../src/domain/commands';
import { renderInDom } from './card-library';
import { cardBytes, maxCardBytes, objectsOfType, shape, strings, visible } from './card-walk';

/** Values a display name, a team or channel name, or later an app name or justification could hold. */
const hostile: Record<string, string> = {
  'a markdown link': '[click me](https://evil.example)',
  'markdown emphasis': '**bold** and _italic_',
  'a mention': '<at>Someone</at>',
  'a $root binding': '${$root.secret}',
  'an expression function': "${if(true,'a','b')}",
  'a Teams date function': '{{DATE(2026-01-01T00:00:00Z, SHORT)}}',
  'a JSON break-out': '"}]},{"type":"Action.OpenUrl","url":"https://evil"',
  'a lone $ before a brace': 'price $',
  'a leading brace': '{x}',
};
const controlChars = 'Zz\u0000b\u0007c\u001b[31md\u202Ee\u200Bf\u0085g\th';
const tenThousand = Array.from({ length: 1000 }, (_, i) => `w${String(i).padStart(3, '0')}-xyz `)
  .join('')
  .slice(0, 10_000);

const secret = 'S3CRET-never-shown';
const setAt = new Date('2026-11-23T09:15:00Z');
const helpCommand = commands[0]!;

/** Every place where text from outside reaches a card, with the cap that applies to it and whether it keeps lines. */
const fields: Array<{ field: string; render: (value: string) => AdaptiveCard; max: number; multiline?: boolean }> = [
  {
    field: 'the personal welcome name',
    render: (v) => renderWelcome({ scope: 'personal', name: v }),
    max: TextLimit.personName,
  },
  {
    field: 'the team welcome name',
    render: (v) => renderWelcome({ scope: 'team', name: v }),
    max: TextLimit.placeName,
  },
  {
    field: 'the channel name',
    render: (v) => renderChannelSet({ purpose: 'approvals', channelName: v, teamName: 'T', setBy: 'P', setAt }),
    max: TextLimit.placeName,
  },
  {
    field: 'the team name',
    render: (v) => renderChannelSet({ purpose: 'approvals', channelName: 'C', teamName: v, setBy: 'P', setAt }),
    max: TextLimit.placeName,
  },
  {
    field: 'the person who set a channel',
    render: (v) => renderChannelSet({ purpose: 'reminders', channelName: 'C', setBy: v, setAt }),
    max: TextLimit.personName,
  },
  {
    field: 'the replaced channel name',
    render: (v) =>
      renderChannelSet({ purpose: 'reminders', channelName: 'C', setBy: 'P', setAt, replaced: { channelName: v } }),
    max: TextLimit.placeName,
  },
  {
    field: 'a notice title',
    render: (v) => renderNotice({ tone: 'error', title: v, text: 'x', reference: 'r' }),
    max: TextLimit.title,
  },
  {
    field: 'a notice text',
    render: (v) => renderNotice({ tone: 'refusal', title: 't', text: v, reference: 'r' }),
    max: TextLimit.paragraph,
    multiline: true,
  },
  {
    field: 'a notice reference',
    render: (v) => renderNotice({ tone: 'error', title: 't', text: 'x', reference: v }),
    max: TextLimit.reference,
  },
  {
    field: 'a command summary',
    render: (v) => renderHelp({ commands: [{ ...helpCommand, summary: v }] }),
    max: TextLimit.paragraph,
  },
];

/** The texts a person sees in TextRuns, zero-width spaces removed. */
function runTexts(card: AdaptiveCard): string[] {
  return objectsOfType(card, 'TextRun').map((run) => visible(String(run.text)));
}

describe.each(fields)('$field', ({ render, max, multiline }) => {
  const benign = render('Plain value');

  test.each(Object.entries(hostile))(
    'when it holds %s, then the card shows it literally in a TextRun and gains no element, action or link',
    (_, value) => {
      const card = render(value);
      expect(shape(card)).toBe(shape(benign));
      expect(objectsOfType(card, 'Action.OpenUrl', 'Action.Submit', 'Action.ShowCard')).toEqual([]);
      expect(runTexts(card).some((text) => text.includes(value))).toBe(true);
      // Wherever the value (or a long enough piece of it) appears, it is the text of a TextRun, where markdown is not processed.
      const probe = value.slice(0, 8);
      for (const s of strings(card).filter((s) => visible(s.value).includes(probe))) {
        expect({ at: s.path, owner: s.owner.type, key: s.key }).toEqual({ at: s.path, owner: 'TextRun', key: 'text' });
      }
      expect(strings(card).filter((s) => s.value.includes('${') || s.value.includes('{{'))).toEqual([]);
    },
  );

  test.each(Object.entries(hostile))(
    'when it holds %s, then the rendered card shows the raw text, unformatted and unlinked',
    (_, value) => {
      const { element, markdownInputs } = renderInDom(render(value));
      expect(visible(element.textContent ?? '')).toContain(value);
      expect(markdownInputs.filter((text) => visible(text).includes(value))).toEqual([]);
      expect(element.querySelectorAll('a, strong, b, em, i, at').length).toBe(0);
    },
  );

  test('when it holds expressions, then expanding the rendered card again evaluates nothing', () => {
    const card = render(`${hostile['a $root binding']} ${hostile['an expression function']}`);
    const again = new Template(card).expand({ $root: { secret } }) as unknown;
    expect(again).toEqual(card);
  });

  test('when it holds control and invisible characters, then they are removed', () => {
    const card = render(controlChars);
    expect(runTexts(card).find((text) => text.includes('Zz'))).toContain(
      multiline ? 'Zzbc[31mdef\ng h' : 'Zzbc[31mdef g h',
    );
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    const unwanted = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
    expect(strings(card).filter((s) => unwanted.test(s.value) || (!multiline && s.value.includes('\n')))).toEqual([]);
  });

  test('when it holds 10,000 characters, then it is cut to its cap with an ellipsis and the card stays small', () => {
    const card = render(tenThousand);
    const shown = runTexts(card).find((text) => text.startsWith('w000') || text.includes('w000-xyz'));
    expect(shown).toBeDefined();
    const start = shown!.indexOf('w000');
    const cut = shown!.slice(start, shown!.indexOf('…', start) + 1);
    expect(Array.from(cut).length).toBeLessThanOrEqual(max);
    expect(cut.endsWith('…')).toBe(true);
    expect(cardBytes(card)).toBeLessThan(maxCardBytes / 4);
  });
});

describe('adaptivecards-templating, as it behaves without our rules', () => {
  test('when a data value holds ${...}, then the library copies it literally, and a second expansion evaluates it', () => {
    const once = new Template({ text: 'Hi ${name}' }).expand({ $root: { name: '${$root.secret}' } }) as unknown;
    expect(once).toEqual({ text: 'Hi ${$root.secret}' });
    expect(new Template(once).expand({ $root: { secret } })).toEqual({ text: `Hi ${secret}` });
  });

  test('when a field is missing, then the library leaves its binding in the output as text', () => {
    expect(new Template({ text: 'Hi ${name}' }).expand({ $root: {} })).toEqual({ text: 'Hi ${name}' });
  });
});

describe('expandTemplate', () => {
  const card = (body: unknown) => ({ type: 'AdaptiveCard', version: '1.5', body });

  test('when a data value holds ${...}, then it is shown literally and no expansion, now or later, evaluates it', () => {
    const once = expandTemplate(card([{ type: 'TextRun', text: 'Hi ${name}' }]), { name: '${$root.secret}', secret });
    expect(visible(JSON.stringify(once))).toContain('Hi ${$root.secret}');
    expect(JSON.stringify(new Template(once).expand({ $root: { secret } }))).not.toContain(secret);
    expect(JSON.stringify(expandTemplate(once, { secret }))).not.toContain(secret);
  });

  test('when a data value holds an expression function, then it is not evaluated', () => {
    const out = expandTemplate(card([{ type: 'TextRun', text: '${v}' }]), { v: "${if(true,'a','b')}" });
    expect(visible((out.body[0] as { text: string }).text)).toBe("${if(true,'a','b')}");
  });

  test('when template text and data join into ${ or {{, then the join is broken too', () => {
    const out = expandTemplate(card([{ type: 'TextRun', text: '$${a} {${b} ${c}{' }]), {
      a: '{x}',
      b: '{DATE(2026-01-01T00:00:00Z)}}',
      c: '$',
    });
    const text = (out.body[0] as { text: string }).text;
    expect(text).not.toMatch(/\$\{|\{\{/);
    expect(visible(text)).toBe('${x} {{DATE(2026-01-01T00:00:00Z)}} ${');
  });

  test('when the data carries $when or $data keys, then they are dropped and cannot hide or repeat anything', () => {
    const items = [
      { type: 'TextBlock', text: 'shown', $when: '${false}', nested: { $data: '${list}', $when: '${false}' } },
    ];
    const out = expandTemplate(card('${items}'), { items, list: [1, 2, 3] });
    expect(out.body).toEqual([{ type: 'TextBlock', text: 'shown', nested: {} }]);
    expect(new Template(out).expand({ $root: {} })).toEqual(out);
  });

  test('when a data value is an object where text is expected, then it is not a string and cannot pass as one', () => {
    // A renderer passes strings; a single-expression binding would otherwise insert the object as card structure.
    const out = expandTemplate(card([{ type: 'TextRun', text: '${v}' }]), {
      v: { type: 'Action.OpenUrl', url: 'https://evil', $when: '${true}' },
    });
    expect(out.body[0]).toEqual({ type: 'TextRun', text: { type: 'Action.OpenUrl', url: 'https://evil' } });
  });

  test('when the data lacks a field the template binds, then expansion fails and names the binding', () => {
    expect(() => expandTemplate(card([{ type: 'TextRun', text: 'Hi ${name}' }]), {})).toThrow(
      /"Hi \$\{name\}" unresolved at \$\.body\[0\]\.text/,
    );
    expect(() => expandTemplate(card([{ type: 'TextRun', text: 'Hi ${name}' }]), { name: null })).toThrow(/unresolved/);
  });

  test('when the result is not an AdaptiveCard, then expansion fails', () => {
    expect(() => expandTemplate({ type: 'AdaptiveCard', version: '1.5', body: [], $when: '${false}' }, {})).toThrow(
      /did not give an AdaptiveCard/,
    );
  });
});

describe('safeText', () => {
  test('when text is cut, then a character outside the basic plane is never split', () => {
    expect(safeText('😀'.repeat(10), { max: 4 })).toBe('😀😀😀…');
  });

  test('when text is not a string, then it becomes empty', () => {
    expect(safeText({ toString: () => '**x**' }, { max: 10 })).toBe('');
    expect(safeText(undefined, { max: 10 })).toBe('');
  });

  test('when multi-line text has runs of blank lines, then at most one blank line is kept', () => {
    expect(safeText(' one \n\n\n\n two\u2028three ', { max: 100, multiline: true })).toBe('one\n\ntwo\nthree');
  });
});
