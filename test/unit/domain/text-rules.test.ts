import { generateKeyPairSync } from 'node:crypto';
import { validateRequestForm } from '../../../src/domain/request-form';
import { textProblem, type TextRule } from '../../../src/domain/text-rules';
import { catalogIndex } from './fixtures';

const purpose: TextRule = { label: 'The purpose', max: 1000, multiline: true };

const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ecPem = ecKey.export({ type: 'sec1', format: 'pem' }).toString().trim();

describe('a private key in free text', () => {
  test('when the purpose holds a PEM private key, then it is refused as a private key, before its length; words about keys are fine', () => {
    expect(textProblem(`Our key, for the record:\n${ecPem}`, purpose)).toBe(
      'There is a private key in the purpose, so Registrar did not keep it or show it again. A private key never belongs here: remove it, and if the key was sent anywhere, make a new key pair.',
    );
    const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(textProblem(rsaPem.trim(), purpose)).toMatch(/^There is a private key in the purpose/);
    // Speaking of private keys is fine.
    expect(textProblem('Signs tokens with a private key held in Key Vault.', purpose)).toBeUndefined();
  });

  test('when a form is submitted with a private key in the purpose, then it is refused with that message, whatever else is right', () => {
    const result = validateRequestForm(
      { name: 'Payroll sync', purpose: `Key:\n${ecPem}`, platform: 'none', credential: 'secret' },
      { catalog: catalogIndex, policy: { secretMaxDays: 730, secretDefaultDays: 180 }, now: new Date('2026-06-01T12:00:00Z') },
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.purpose).toMatch(/^There is a private key in the purpose/);
  });
});
