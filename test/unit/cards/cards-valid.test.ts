/** @jest-environment jsdom */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandTemplate } from '../../../src/cards/render';
import { Verb } from '../../../src/cards/verbs';
import { libraryEvents } from './card-library';
import { cardBytes, extraProblems, maxCardBytes } from './card-walk';
import { samples } from './card-samples';

const folder = join(__dirname, '../../../adaptiveCards');
const templates = readdirSync(folder)
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.slice(0, -'.json'.length))
  .sort();

function rendered(name: string) {
  const cases = samples[name];
  if (!cases || cases.length === 0)
    throw new Error(`adaptiveCards/${name}.json has no sample: add one to test/unit/cards/card-samples.ts`);
  return cases.map((c) => ({ label: c.label, card: c.render() }));
}

test('when the adaptiveCards folder is read, then it holds the templates of the first feature set', () => {
  expect(templates).toEqual(
    expect.arrayContaining(['channel-set', 'help', 'notice', 'welcome-personal', 'welcome-team']),
  );
});

test('when samples are listed, then each names a template that exists', () => {
  expect(Object.keys(samples).filter((name) => !templates.includes(name))).toEqual([]);
});

describe.each(templates)('adaptiveCards/%s.json', (name) => {
  test('when the file is read, then it is an Adaptive Card 1.5 template with a kebab-case name and the schema reference', () => {
    const template = JSON.parse(readFileSync(join(folder, `${name}.json`), 'utf8')) as Record<string, unknown>;
    expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(template).toMatchObject({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.5',
    });
  });

  test('when it is rendered with representative data, then the adaptivecards library reports no parse or validation event', () => {
    const results = rendered(name).map(({ label, card }) => ({ label, events: libraryEvents(card) }));
    expect(results).toEqual(results.map(({ label }) => ({ label, events: [] })));
  });

  test('when it is rendered with representative data, then the checks the library does not make pass too', () => {
    const results = rendered(name).map(({ label, card }) => ({ label, problems: extraProblems(card) }));
    expect(results).toEqual(results.map(({ label }) => ({ label, problems: [] })));
  });
});

test('when the help card lists every command, then it stays far below the Teams message limit', () => {
  const [help] = rendered('help');
  expect(cardBytes(help?.card)).toBeLessThan(maxCardBytes / 2);
});

describe('the checker itself', () => {
  const card = (body: unknown[], actions?: unknown[]) => ({
    type: 'AdaptiveCard',
    version: '1.5',
    body,
    ...(actions ? { actions } : {}),
  });

  test('when a template has an element type the library does not know, then the library reports it', () => {
    const expanded = expandTemplate(card([{ type: 'Banana', text: '${fruit}' }]), { fruit: 'yellow' });
    expect(libraryEvents(expanded)).toEqual([expect.stringContaining('Unknown element type "Banana"')]);
  });

  test('when a template has two inputs with the same id, then the library reports it', () => {
    const expanded = expandTemplate(
      card([
        { type: 'Input.Text', id: 'appName', label: 'App name' },
        { type: 'Input.Text', id: 'appName', label: 'Again' },
      ]),
      {},
    );
    expect(libraryEvents(expanded).join('\n')).toMatch(/Duplicate Id "appName"|unique Id/);
  });

  test('when a property has an invalid value or a required one is missing, then the library reports it', () => {
    expect(libraryEvents(card([{ type: 'TextBlock', text: 'x', weight: 'Heavy' }]))).toEqual([
      expect.stringContaining('Invalid value "Heavy"'),
    ]);
    expect(libraryEvents(card([], [{ type: 'Action.OpenUrl', title: 'Open' }]))).toEqual([
      expect.stringContaining('Property "url" must be set'),
    ]);
    expect(libraryEvents(card([{ type: 'Input.Text', label: 'No id' }]))).toEqual([
      expect.stringContaining('All inputs must have a unique Id'),
    ]);
  });

  test('when an action has no verb, an unknown verb or no url, then the extra checks report each', () => {
    const problems = extraProblems(
      card(
        [],
        [
          { type: 'Action.Execute', title: 'No verb' },
          { type: 'Action.Execute', title: 'Unknown', verb: 'app.delete' },
          { type: 'Action.Execute', title: 'Known', verb: Verb.showHelp },
          { type: 'Action.OpenUrl', title: 'Nowhere' },
        ],
      ),
    );
    expect(problems).toEqual([
      'Action.Execute "No verb" has no verb',
      'Action.Execute "Unknown" has verb "app.delete", which is not a value of Verb',
      'Action.OpenUrl "Nowhere" has no url',
    ]);
  });

  test('when a card has another version, an unresolved expression or too many bytes, then the extra checks report each', () => {
    const problems = extraProblems({
      type: 'AdaptiveCard',
      version: '1.4',
      body: [
        { type: 'TextBlock', text: 'Hi ${name}' },
        { type: 'TextBlock', text: 'x'.repeat(maxCardBytes) },
      ],
    });
    expect(problems).toEqual([
      'version is "1.4", not "1.5"',
      'unresolved expression at $.body[0].text: Hi ${name}',
      expect.stringMatching(/^the card is \d+ bytes, over 28672$/),
    ]);
  });
});
