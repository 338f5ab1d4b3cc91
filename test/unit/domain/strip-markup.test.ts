/**
 * The words of a message, as the command parser reads them: mentions, Teams' HTML and non-breaking spaces become
 * spaces, in time linear in the length whatever the text (the tag pattern this replaces was quadratic on `<`).
 */
import { parseCommand, stripMarkup } from '../../../src/domain/commands';

/** What the text was reduced to before: the same result, by patterns that backtrack. Only for short strings. */
function byPatterns(text: string): string {
  return text
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const MiB = 1024 * 1024;

describe('stripMarkup', () => {
  test.each([
    ['<at>Registrar</at> help', 'help'],
    ['<AT>Registrar</At>&nbsp;setup&nbsp;approvals', 'setup approvals'],
    ['<at>Registrar</at>\u00a0status  REQ-1 ', 'status REQ-1'],
    ['<p>rotate <b>Payroll API</b></p>', 'rotate Payroll API'],
    ['<at>Registrar help', 'Registrar help'],
    ['<at><b>Registrar</b></at> pending', 'Registrar pending'],
    ['<div><p><at>Registrar</at></p><p>mine</p></div>', 'mine'],
    ['a < b and c > d', 'a d'],
    ['1 < 2', '1 < 2'],
    ['<> help', '<> help'],
    ['<at>one</at><at>two</at> scan', 'scan'],
    ['', ''],
  ])('when the text is %j, then the words are %j', (text, words) => {
    expect(stripMarkup(text)).toBe(words);
  });

  test.each([
    ['1 MiB of <', '<'.repeat(MiB), '<'.repeat(MiB)],
    ['1 MiB of <at> that never closes', '<at>'.repeat(MiB / 4), ''],
    ['<at> then 1 MiB of text and no </at>', `<at>${'x'.repeat(MiB)}`, 'x'.repeat(MiB)],
    ['1 MiB of <a with no >', '<a'.repeat(MiB / 2), '<a'.repeat(MiB / 2)],
    ['1 MiB of < closed once at the end', `${'<'.repeat(MiB)}>`, ''],
    ['1 MiB of <>', '<>'.repeat(MiB / 2), '<>'.repeat(MiB / 2)],
    ['1 MiB of mentions', '<at>x</at>'.repeat(MiB / 10), ''],
    ['1 MiB of &nbsp;', '&nbsp;'.repeat(MiB / 6), ''],
    ['1 MiB of nested tags', `${'<b>'.repeat(MiB / 8)}help${'</b>'.repeat(MiB / 8)}`, 'help'],
  ])('when the text is %s, then it is reduced as the patterns would, in one pass', (_name, text, words) => {
    expect(stripMarkup(text)).toBe(words);
  });

  test('when a 1 MiB message of < is parsed, then it is no command', () => {
    expect(parseCommand(stripMarkup('<'.repeat(MiB)))).toBeUndefined();
  });

  test('when any short text of <, >, mentions, slashes, letters and spaces is reduced, then the result is what the patterns gave', () => {
    const pieces = [
      '<',
      '>',
      '<at>',
      '</at>',
      '<AT>',
      '</At>',
      '<aT',
      'a',
      't',
      'T',
      '/',
      ' ',
      '\n',
      '&nbsp;',
      '\u00a0',
      'x',
      'help',
    ];
    let seed = 20261206;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let n = 0; n < 10_000; n += 1) {
      const text = Array.from({ length: next() % 16 }, () => pieces[next() % pieces.length]).join('');
      expect([text, stripMarkup(text)]).toEqual([text, byPatterns(text)]);
    }
  });
});
