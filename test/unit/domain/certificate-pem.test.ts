import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { InvalidCertificate, parseCertificatePem } from '../../../src/domain/certificate-pem';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import { rsaCertificate, toPem } from './test-certificates';

const now = new Date('2026-06-01T12:00:00Z');
const from = new Date('2026-01-01T00:00:00Z');
const to = new Date('2027-01-01T00:00:00Z');

const good = selfSignedCertificate('payroll-sync', from, to, 'rsa');
const pkcs1Key = createPrivateKey(good.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
const keyDerBase64 = createPrivateKey(good.keyPem).export({ type: 'pkcs8', format: 'der' }).toString('base64');
const encryptedKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
  .toString();
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const headerless = (der: Buffer) => der.toString('base64').replace(/(.{64})/g, '$1\n');
const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

function refusal(pem: string): InvalidCertificate {
  try {
    parseCertificatePem(pem, now);
  } catch (err) {
    if (err instanceof InvalidCertificate) return err;
    throw err;
  }
  throw new Error('expected the certificate to be refused');
}

describe('the pasted certificate', () => {
  test('when it is a valid RSA 2048 certificate, then it is described for keyCredentials with its SHA-1 thumbprint', () => {
    expect(parseCertificatePem(good.certPem, now)).toEqual({
      derBase64: good.der,
      thumbprint: good.thumbprint,
      subject: 'CN=payroll-sync',
      notBefore: good.notBefore.toISOString(),
      notAfter: good.notAfter.toISOString(),
    });
  });

  test('when it comes with Windows line endings and text around it, then it is still read', () => {
    const pasted = `Bag Attributes\r\n    friendlyName: payroll\r\n${good.certPem.replace(/\n/g, '\r\n')}`;

    expect(parseCertificatePem(pasted, now).thumbprint).toBe(good.thumbprint);
  });

  test.each([
    ['a PKCS#8 private key', good.keyPem],
    ['a PKCS#1 RSA private key', pkcs1Key],
    ['an encrypted private key', encryptedKey],
    ['a certificate with its private key', `${good.certPem}${good.keyPem}`],
    ['a private key without its header lines', keyDerBase64.replace(/(.{64})/g, '$1\n')],
    ['an EC private key without its header lines', headerless(ecKey.export({ type: 'sec1', format: 'der' }))],
    [
      'an encrypted private key without its header lines',
      headerless(ecKey.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: 'pw' })),
    ],
  ])('when it is %s, then it is refused as a private key, never as a damaged certificate', (_name, pem) => {
    const error = refusal(pem);

    expect(error.privateKey).toBe(true);
    expect(error.code).toBe('invalid-input');
    expect(error.userMessage).toMatch(/^This is a private key, not a certificate\. Keep the private key where it is/);
  });

  test.each([
    ['empty', '', /Paste a PEM certificate/],
    ['plain text', 'my certificate', /Paste a PEM certificate/],
    ['a public key', publicKeyPem, /Paste a PEM certificate/],
    [
      'a chain of two certificates',
      `${good.certPem}${selfSignedCertificate('ca', from, to, 'ec').certPem}`,
      /one certificate, the app's own, not a chain/,
    ],
    [
      'a body that is not base64',
      '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----',
      /its body is not base64/,
    ],
    [
      'base64 that is not a certificate',
      toPem(Buffer.from('hello, this is not DER at all')),
      /not a readable X\.509 certificate/,
    ],
    [
      'a truncated certificate',
      toPem(Buffer.from(good.der, 'base64').subarray(0, 300)),
      /not a readable X\.509 certificate/,
    ],
    [
      'a certificate with bytes after its end',
      toPem(Buffer.concat([Buffer.from(good.der, 'base64'), Buffer.from([0, 0])])),
      /damaged/,
    ],
    [
      'expired',
      selfSignedCertificate('old', new Date('2024-01-01Z'), new Date('2025-01-01Z')).certPem,
      /expired on 2025-01-01\. Make a new one/,
    ],
    [
      'not valid yet',
      selfSignedCertificate('future', new Date('2026-07-01Z'), to).certPem,
      /not valid until 2026-07-01/,
    ],
    [
      'an EC certificate',
      selfSignedCertificate('ec', from, to, 'ec').certPem,
      /key is EC; Entra ID needs an RSA key of 2048 bits or more/,
    ],
    [
      'an RSA 1024 certificate',
      rsaCertificate('weak', 1024, from, to).certPem,
      /RSA key has 1024 bits; use 2048 bits or more/,
    ],
    ['far too long', `${good.certPem}${' '.repeat(20_000)}`, /at most 16384 characters/],
  ])('when it is %s, then it is refused with a message saying what to do', (_name, pem, message) => {
    const error = refusal(pem);

    expect(error.privateKey).toBe(false);
    expect(error.userMessage).toMatch(message);
  });

  test.each([
    ['text', `${good.certPem}thanks!`],
    ['a public key block', `${good.certPem}${publicKeyPem}`],
    ['an unfinished block', `${good.certPem}-----BEGIN CERTIFICATE-----\nMIIB`],
    ['a stray end line', `${good.certPem}-----END CERTIFICATE-----\n`],
  ])(
    'when %s follows -----END CERTIFICATE-----, then it is refused with a message that says to paste nothing after it',
    (_name, pem) => {
      const error = refusal(pem);

      expect(error.privateKey).toBe(false);
      expect(error.userMessage).toBe(
        'There is something after -----END CERTIFICATE-----. Paste only the certificate, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----, with nothing after it.',
      );
    },
  );

  test('when only spaces and line breaks follow -----END CERTIFICATE-----, then the certificate is read', () => {
    expect(parseCertificatePem(`${good.certPem}\r\n\n  \n`, now).thumbprint).toBe(good.thumbprint);
    expect(() => parseCertificatePem(`${good.certPem}x`, now)).toThrow(InvalidCertificate);
  });
});
