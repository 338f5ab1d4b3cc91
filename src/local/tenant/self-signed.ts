/**
 * Small self-signed X.509 certificates made synchronously with node:crypto, for the keyCredentials of seeded
 * app registrations and for tests that sign in with a certificate. @peculiar/x509 is asynchronous (WebCrypto),
 * and a seed must be built in one call with validity windows relative to the seed time.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';

export interface SelfSignedCertificate {
  /** The certificate, DER, base64 (keyCredential.key). */
  der: string;
  certPem: string;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
  /** SHA-1 of the DER, upper-case hex (keyCredential.customKeyIdentifier, as Entra shows it). */
  thumbprint: string;
  notBefore: Date;
  notAfter: Date;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const sequence = (...items: Buffer[]) => tlv(0x30, ...items);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function time(date: Date): Buffer {
  const iso = date.toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(compact.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(compact, 'ascii'));
}

const nameOf = (cn: string) => sequence(tlv(0x31, sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));

/**
 * A self-signed certificate for CN=`commonName`, valid from `notBefore` to `notAfter`; RSA (MSAL signs with RSA;
 * 2048 bits unless `rsaBits` says otherwise, e.g. a too-weak key for a test) or EC P-256 (small, fast).
 */
export function selfSignedCertificate(
  commonName: string,
  notBefore: Date,
  notAfter: Date,
  keyType: 'rsa' | 'ec' = 'rsa',
  rsaBits = 2048,
): SelfSignedCertificate {
  const { privateKey, publicKey } =
    keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: rsaBits })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return certificateFor(commonName, notBefore, notAfter, privateKey, publicKey, keyType);
}

function certificateFor(
  subject: string,
  notBefore: Date,
  notAfter: Date,
  privateKey: KeyObject,
  publicKey: KeyObject,
  keyType: 'rsa' | 'ec',
): SelfSignedCertificate {
  const algorithm =
    keyType === 'rsa' ? sequence(oid('1.2.840.113549.1.1.11'), tlv(0x05)) : sequence(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  // A positive INTEGER in minimal DER: the first byte neither 0x00 (padding OpenSSL refuses) nor >= 0x80 (negative).
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const name = nameOf(subject);
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serial),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const certificate = new X509Certificate(der);
  if (!certificate.verify(publicKey)) throw new Error('The self-signed certificate does not verify with its own key.');
  const base64 = der.toString('base64');
  return {
    der: base64,
    certPem: `-----BEGIN CERTIFICATE-----\n${base64.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    notBefore: new Date(Math.floor(notBefore.getTime() / 1000) * 1000),
    notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000),
  };
}
