/**
 * Recognising a private key pasted where it does not belong: the certificate box above all, but any field of the
 * form. A private key is never stored, never sent back into a card (a card lives on in Teams' copy of the
 * message), and the person is told to make a new key pair if it went anywhere. Pure computation; linear in the
 * length of the text.
 */
import { createPrivateKey } from 'node:crypto';

/** What the certificate box says when it holds a private key: Submit, Find and every re-rendered form alike. */
export const privateKeyInCertificateMessage =
  'This is a private key, not a certificate. Keep the private key where it is and paste only the certificate, ' +
  'the block that starts with -----BEGIN CERTIFICATE-----. If the key was sent anywhere, make a new key pair.';

/** What any other field says when it holds a private key. `field` is how the person knows it: "the purpose". */
export const privateKeyInFieldMessage = (field: string) =>
  `There is a private key in ${field}, so Registrar did not keep it or show it again. A private key never belongs ` +
  'here: remove it, and if the key was sent anywhere, make a new key pair.';

/**
 * The header or footer of a PEM private key of any kind (PKCS#8, ENCRYPTED, RSA, EC, DSA, OPENSSH, PGP's
 * "PRIVATE KEY BLOCK") and the first line of a PuTTY key file. A fixed string each, so no backtracking.
 */
const keyMarker = /PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d{1,3}:/i;
const base64Only = /^[A-Za-z0-9+/]+={0,2}$/;

/** Bare base64 of a private key's DER (a key pasted without its header lines): PKCS#8, encrypted PKCS#8, PKCS#1, SEC1. */
function isBareKey(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 64 || !base64Only.test(compact)) return false;
  const der = Buffer.from(compact, 'base64');
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch (err) {
      // An encrypted PKCS#8 key is still a key: it only wants its passphrase.
      if ((err as { code?: unknown }).code === 'ERR_MISSING_PASSPHRASE') return true;
    }
  }
  return false;
}

/** Whether text holds a private key, with or without its PEM lines. */
export function holdsPrivateKey(text: string | undefined): boolean {
  if (!text) return false;
  return keyMarker.test(text) || isBareKey(text);
}

/**
 * Whether what was pasted in the certificate box holds a private key. Broader than holdsPrivateKey: there, any
 * mention of a private key counts, since nothing but a certificate belongs in that box.
 */
export function certificateHoldsPrivateKey(text: string | undefined): boolean {
  if (!text) return false;
  return /PRIVATE KEY/i.test(text) || holdsPrivateKey(text);
}
