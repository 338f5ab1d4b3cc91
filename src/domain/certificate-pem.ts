/**
 * The public certificate a requester pastes for a certificate credential. Only a certificate is accepted: a
 * private key is refused with its own message (and the form does not echo it back), because it must never
 * leave the requester's machine. Pure computation with node:crypto; no I/O.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateSpec } from './app-spec';
import { RegistrarError } from './errors';
import { certificateHoldsPrivateKey, privateKeyInCertificateMessage } from './private-key';

export const minRsaBits = 2048;
/** A single certificate with a 16384-bit key is under 6 KB of PEM; more is a chain, a bundle, or not a certificate. */
export const maxPemLength = 16_384;

export class InvalidCertificate extends RegistrarError {
  constructor(
    userMessage: string,
    /** True when what was pasted holds a private key: it must not be kept or shown again. */
    readonly privateKey = false,
  ) {
    super('invalid-input', userMessage);
  }
}

/** A PEM boundary line. The label is bounded, so a failed match gives up after a few characters: one pass in all. */
const boundary = /-----(BEGIN|END) ([A-Z0-9 ]{1,40})-----/g;
const base64Body = /^[A-Za-z0-9+/]+={0,2}$/;

interface PemBlock {
  label: string;
  body: string;
}

/**
 * The complete BEGIN/END blocks of a paste, in order, and the text after the first one. A boundary that pairs with
 * none starts no block; text before the first block is left to the caller.
 */
function pemBlocks(pem: string): { blocks: PemBlock[]; after: string } {
  const blocks: PemBlock[] = [];
  let open: { label: string; bodyStart: number } | undefined;
  let firstEnd: number | undefined;
  for (const match of pem.matchAll(boundary)) {
    const [line, kind, label = ''] = match;
    const index = match.index ?? 0;
    if (kind === 'BEGIN') {
      open = { label, bodyStart: index + line.length };
    } else {
      if (open?.label === label) {
        blocks.push({ label, body: pem.slice(open.bodyStart, index) });
        firstEnd ??= index + line.length;
      }
      open = undefined;
    }
  }
  return { blocks, after: firstEnd === undefined ? '' : pem.slice(firstEnd) };
}

function dateOf(openSslDate: string): Date {
  const date = new Date(openSslDate);
  if (Number.isNaN(date.getTime()))
    throw new InvalidCertificate('The certificate has a validity date Registrar cannot read.');
  return date;
}

/** Checks a pasted PEM and describes the certificate for keyCredentials. Throws InvalidCertificate with a message for the person. */
export function parseCertificatePem(pem: string, now: Date): CertificateSpec {
  if (certificateHoldsPrivateKey(pem)) throw new InvalidCertificate(privateKeyInCertificateMessage, true);
  if (pem.length > maxPemLength) {
    throw new InvalidCertificate(
      `The certificate is ${pem.length} characters long; paste one certificate (at most ${maxPemLength} characters), not a chain.`,
    );
  }
  // Text before the certificate is allowed: openssl and Windows put "Bag Attributes" and a subject there.
  const { blocks, after } = pemBlocks(pem);
  const certificates = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (blocks[0]?.label !== 'CERTIFICATE') {
    throw new InvalidCertificate(
      'Paste a PEM certificate: the block from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.',
    );
  }
  if (certificates.length > 1) throw new InvalidCertificate("Paste one certificate, the app's own, not a chain.");
  if (after.trim() !== '') {
    throw new InvalidCertificate(
      'There is something after -----END CERTIFICATE-----. Paste only the certificate, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----, with nothing after it.',
    );
  }
  const body = certificates[0]!.body.replace(/\s+/g, '');
  if (!base64Body.test(body))
    throw new InvalidCertificate(
      'The certificate is damaged: its body is not base64. Copy it again from the .pem or .cer file.',
    );

  const der = Buffer.from(body, 'base64');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    throw new InvalidCertificate(
      'The certificate is damaged: it is not a readable X.509 certificate. Copy it again from the .pem or .cer file.',
    );
  }
  if (!certificate.raw.equals(der))
    throw new InvalidCertificate('The certificate is damaged: it has extra bytes after its end.');

  const notBefore = dateOf(certificate.validFrom);
  const notAfter = dateOf(certificate.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new InvalidCertificate(`The certificate expired on ${notAfter.toISOString().slice(0, 10)}. Make a new one.`);
  }
  if (notBefore.getTime() > now.getTime()) {
    throw new InvalidCertificate(
      `The certificate is not valid until ${notBefore.toISOString()}. Use one that is valid now.`,
    );
  }

  const key = certificate.publicKey;
  if (key.asymmetricKeyType !== 'rsa') {
    throw new InvalidCertificate(
      `The certificate's key is ${String(key.asymmetricKeyType).toUpperCase()}; Entra ID needs an RSA key of ${minRsaBits} bits or more.`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < minRsaBits)
    throw new InvalidCertificate(`The certificate's RSA key has ${bits} bits; use ${minRsaBits} bits or more.`);

  return {
    derBase64: der.toString('base64'),
    thumbprint: certificate.fingerprint.replace(/:/g, '').toUpperCase(),
    subject: certificate.subject.split('\n').join(', '),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  };
}
