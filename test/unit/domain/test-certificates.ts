/**
 * Certificates for the certificate checks, made by the local tenant's selfSignedCertificate (which also makes
 * RSA keys of any size, for the too-weak cases), and PEM wrapping for hand-damaged DER.
 */
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  return `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END ${label}-----\n`;
}

/** A self-signed RSA certificate with a key of `bits` bits, valid from `notBefore` to `notAfter`. */
export function rsaCertificate(
  cn: string,
  bits: number,
  notBefore: Date,
  notAfter: Date,
): { certPem: string; der: Buffer } {
  const made = selfSignedCertificate(cn, notBefore, notAfter, 'rsa', bits);
  return { certPem: made.certPem, der: Buffer.from(made.der, 'base64') };
}
