import { generateKeyPairSync } from 'node:crypto';
import { RegistrarError } from '../../../src/domain/errors';
import { transition } from '../../../src/domain/request';
import { validateRequestForm } from '../../../src/domain/request-form';
import { textProblem, type TextRule } from '../../../src/domain/text-rules';
import { catalogIndex, later, megan, submitted } from './fixtures';

const purpose: TextRule = { label: 'The purpose', max: 1000, multiline: true };

const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ecPem = ecKey.export({ type: 'sec1', format: 'pem' }).toString().trim();

describe('a private key in free text', () => {
  test('when the purpose holds a PEM private key, then it is refused as a private key, before its length; words about keys are fine', () => {
    expect(textProblem(`Our key, for the record:\n${ecPem}`, purpose)).toBe(
      'There is a private key in the purpose, so Registrar did not keep it or show it again. A private key never belongs here: remove it, and if the key was sent anywhere, make a new key pair.',
    );
    const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(textProblem(rsaPem.trim(), purpose)).toMatch(/^There is a private key in the purpose/);
    // Speaking of private keys is fine.
    expect(textProblem('Signs tokens with a private key held in Key Vault.', purpose)).toBeUndefined();
  });

  test('when a form is submitted with a private key in the purpose, then it is refused with that message, whatever else is right', () => {
    const result = validateRequestForm(
      { name: 'Payroll sync', purpose: `Key:\n${ecPem}`, platform: 'none', credential: 'secret' },
      {
        catalog: catalogIndex,
        policy: { secretMaxDays: 730, secretDefaultDays: 180 },
        now: new Date('2026-06-01T12:00:00Z'),
        cloud: 'global',
      },
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.purpose).toMatch(/^There is a private key in the purpose/);
  });
});

describe('characters that hide or break text', () => {
  const name: TextRule = { label: 'The app name', max: 120 };

  test.each([
    [
      'a Unicode tag',
      'Payroll\u{E0041}',
      /^The app name holds an invisible character \(U\+E0041, a Unicode tag\) at character 8, which can hide or disguise text/,
    ],
    [
      'a run of Unicode tags (hidden ASCII)',
      `Pay${[...'ignore previous'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('')}roll`,
      /\(U\+E0069, a Unicode tag\) at character 4/,
    ],
    ['the cancel tag', 'Payroll\u{E007F}', /\(U\+E007F, a Unicode tag\)/],
    [
      'a byte-order mark',
      '\uFEFFPayroll',
      /^The app name holds an invisible character \(U\+FEFF, a byte-order mark\) at character 1/,
    ],
    [
      'a private-use character of the BMP',
      'Pay\uE000roll',
      /^The app name holds a private-use character \(U\+E000\) at character 4, which each device shows differently or not at all\. Use ordinary letters/,
    ],
    ['the last private-use character of the BMP', 'Payroll\uF8FF', /private-use character \(U\+F8FF\)/],
    [
      'a supplementary private-use character (plane 15)',
      'Payroll\u{F0000}',
      /private-use character \(U\+F0000\) at character 8/,
    ],
    ['the last character of plane 15', 'Payroll\u{FFFFD}', /private-use character \(U\+FFFFD\)/],
    ['a supplementary private-use character (plane 16)', 'Payroll\u{10FFFD}', /private-use character \(U\+10FFFD\)/],
    [
      'a lone high surrogate',
      'Payroll \uD83D',
      /^The app name holds a broken character \(U\+D83D, half of a UTF-16 surrogate pair\) at character 9/,
    ],
    [
      'a lone low surrogate',
      '\uDE00 Payroll',
      /broken character \(U\+DE00, half of a UTF-16 surrogate pair\) at character 1/,
    ],
    ['two high surrogates in a row', 'Pay\uD83D\uD83Droll', /broken character \(U\+D83D/],
  ])(
    'when the app name holds %s, then it is refused with a message that names the character and how to fix it',
    (_name, text, message) => {
      expect(textProblem(text, name)).toMatch(message);
    },
  );

  test('when the app name holds characters next to the refused ranges, then those are accepted and the ranges are not', () => {
    for (const fine of [
      'Payroll 🚀',
      'Gehaltsabrechnung – Zürich 東京',
      'Payroll\u{E0080}',
      'Payroll\uD7FF',
      'Payroll\uF900',
      'Payroll\u{EFFFF}',
    ]) {
      expect({ fine, problem: textProblem(fine, name) }).toEqual({ fine, problem: undefined });
    }
    for (const refused of ['Payroll\u{E0000}', 'Payroll\uE000', 'Payroll\u{F0000}', 'Payroll\u{100000}']) {
      expect({ refused, problem: textProblem(refused, name) }).toEqual({
        refused,
        problem: expect.stringMatching(/^The app name holds/),
      });
    }
  });

  test('when the purpose holds tags, a byte-order mark or private-use characters, then it is refused too, and line breaks are fine', () => {
    expect(textProblem('Line one\nline two\u{E0041}', purpose)).toMatch(
      /^The purpose holds an invisible character \(U\+E0041, a Unicode tag\) at character 18/,
    );
    expect(textProblem('Line one\nline two\uFEFF', purpose)).toMatch(/U\+FEFF, a byte-order mark/);
    expect(textProblem('Line one\nline \u{100000}', purpose)).toMatch(/private-use character \(U\+100000\)/);
  });

  test('when a rejection reason holds a Unicode tag, then the reject is refused with the message and nothing changes', () => {
    const request = submitted();
    let error: unknown;
    try {
      transition(request, { type: 'reject', reason: 'Too broad\u{E0041}' }, megan, later);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RegistrarError);
    expect((error as RegistrarError).userMessage).toMatch(
      /^The reason holds an invisible character \(U\+E0041, a Unicode tag\) at character 10/,
    );
    expect(request.status).toBe('submitted');
  });
});
