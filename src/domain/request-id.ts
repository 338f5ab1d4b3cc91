/**
 * Request ids people can read aloud and type: 8 characters of Crockford's base32 (no I, L, O or U), 40 bits of
 * randomness, safe in URLs, table keys and application uniqueNames. Reading forgives case, hyphens and the
 * look-alikes Crockford allows (O for 0, I and L for 1).
 */
export const requestIdAlphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const requestIdLength = 8;

/** Fills a buffer of `size` random bytes; node:crypto's randomBytes in production, a fixed sequence in tests. */
export type RandomSource = (size: number) => Uint8Array;

export function newRequestId(random: RandomSource): string {
  const bytes = random(requestIdLength);
  if (bytes.length < requestIdLength)
    throw new Error(`The random source gave ${bytes.length} bytes; ${requestIdLength} are needed.`);
  // 256 is a multiple of 32, so the low five bits of each byte are uniform.
  return Array.from(bytes.subarray(0, requestIdLength), (b) => requestIdAlphabet[b & 31]).join('');
}

const canonical = new RegExp(`^[${requestIdAlphabet}]{${requestIdLength}}$`);

export function isRequestId(value: string): boolean {
  return canonical.test(value);
}

/** The canonical id for what a person typed ("f3k9-2m7q", "F3K92M7Q"), or undefined when it cannot be one. */
export function parseRequestId(typed: string): string | undefined {
  const id = typed.trim().toUpperCase().replace(/[-\s]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return isRequestId(id) ? id : undefined;
}
