import { X509Certificate } from 'node:crypto';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';

describe('self-signed certificates for seeds and tests', () => {
  test('when many are made, then every one parses and verifies with its own key (no DER padding errors)', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2027-01-01T00:00:00Z');

    for (let i = 0; i < 200; i++) {
      const made = selfSignedCertificate(`test-${i}`, from, to, 'ec');
      const parsed = new X509Certificate(Buffer.from(made.der, 'base64'));
      expect(parsed.verify(parsed.publicKey)).toBe(true);
      expect(parsed.serialNumber).toMatch(/^[4-7][0-9A-F]/);
    }
  });
});
