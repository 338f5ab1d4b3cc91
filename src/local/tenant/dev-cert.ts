/**
 * The local tenant's TLS certificate. @azure/identity and MSAL refuse http authorities, and the Graph client
 * sends tokens only over https, so the local tenant serves https with a certificate made on first start and
 * kept in the data folder. Processes that call it trust it through NODE_EXTRA_CA_CERTS, pointed at a bundle
 * of the system's CAs and this certificate (the variable replaces, not adds to, what the machine set).
 */
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface DevCertificate {
  certPem: string;
  keyPem: string;
  /** A PEM bundle for NODE_EXTRA_CA_CERTS: the system's CAs (when found) and this certificate. */
  caBundlePath: string;
}

const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
const VALID_DAYS = 825;

/** Reads the certificate from `dir`, or makes one (valid for localhost and 127.0.0.1) when there is none or it is about to expire. */
export async function ensureDevCertificate(dir: string): Promise<DevCertificate> {
  mkdirSync(dir, { recursive: true });
  const certPath = join(dir, 'tenant-cert.pem');
  const keyPath = join(dir, 'tenant-key.pem');
  const caBundlePath = join(dir, 'ca-bundle.pem');
  if (!existsSync(certPath) || !existsSync(keyPath) || expiresWithinDays(readFileSync(certPath, 'utf8'), 7)) {
    const { certPem, keyPem } = await createCertificate();
    writeFileSync(keyPath, keyPem, { mode: 0o600 });
    writeFileSync(certPath, certPem);
  }
  const certPem = readFileSync(certPath, 'utf8');
  const keyPem = readFileSync(keyPath, 'utf8');
  const system = SYSTEM_CA_FILES.find((file) => existsSync(file));
  const bundle = `${system ? readFileSync(system, 'utf8').trimEnd() + '\n' : ''}${certPem}`;
  // Other processes read the bundle when they start (test workers, the bot): never leave it half-written.
  if (!existsSync(caBundlePath) || readFileSync(caBundlePath, 'utf8') !== bundle) {
    const temporary = `${caBundlePath}.${process.pid}.tmp`;
    writeFileSync(temporary, bundle);
    renameSync(temporary, caBundlePath);
  }
  return { certPem, keyPem, caBundlePath };
}

function expiresWithinDays(pem: string, days: number): boolean {
  try {
    return new x509.X509Certificate(pem).notAfter.getTime() < Date.now() + days * 86_400_000;
  } catch {
    return true;
  }
}

async function createCertificate(): Promise<{ certPem: string; keyPem: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const algorithm = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + VALID_DAYS * 86_400_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=Registrar local tenant',
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      // Its own CA, so that OpenSSL accepts it as a trust anchor in NODE_EXTRA_CA_CERTS.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { certPem: `${certificate.toString('pem')}\n`, keyPem };
}
