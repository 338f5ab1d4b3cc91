/**
 * Application credentials as Graph manages them (https://learn.microsoft.com/graph/api/resources/passwordcredential,
 * https://learn.microsoft.com/graph/api/resources/keycredential): secrets made by addPassword (the secret is shown
 * once and only its SHA-256 is kept, for the token endpoint) and certificates uploaded by PATCH keyCredentials
 * (the public DER is kept apart and shown only under $select=keyCredentials).
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { badRequest, GraphError } from '../http';
import { sha256 } from '../identity';
import { type ApplicationRecord, graphTimestamp, type Json, newObjectId } from '../state';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-';

/** AAD's validation message for a bad value (pattern seen in Graph errors; exact text per property unverified). */
export function invalidValue(property: string, resource: string): GraphError {
  return badRequest(`Invalid value specified for property '${property}' of resource '${resource}'.`);
}

/** An Entra-format client secret: 40 characters, the 4th to 6th being "8Q~", as Entra makes them. */
export function newClientSecret(): string {
  const bytes = randomBytes(37);
  const pick = (i: number) => SECRET_ALPHABET[bytes[i]! % SECRET_ALPHABET.length]!;
  let secret = '';
  for (let i = 0; i < 3; i += 1) secret += pick(i);
  secret += '8Q~';
  for (let i = 3; i < 37; i += 1) secret += pick(i);
  return secret;
}

function dateInput(value: unknown, property: string, resource: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidValue(property, resource);
  return /Z$/.test(value) ? value : new Date(value).toISOString().replace('.000Z', 'Z');
}

function addYears(timestamp: string, years: number): string {
  const date = new Date(timestamp);
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return graphTimestamp(date);
}

/**
 * addPassword (https://learn.microsoft.com/graph/api/application-addpassword): adds a passwordCredential to the record and returns it with its secretText, the
 * only time the secret exists. startDateTime defaults to now, endDateTime to start + 2 years. `beforeApply` sees
 * the valid request's dates before anything changes, and may refuse it by throwing (app management policy, faults).
 */
export function addPassword(
  record: ApplicationRecord,
  input: unknown,
  now: Date,
  usableFrom: number,
  beforeApply?: (start: string, end: string) => void,
): Json {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input)))
    throw invalidValue('passwordCredential', 'Application');
  const requested = (input ?? {}) as Record<string, unknown>;
  const displayName = requested.displayName ?? null;
  if (displayName !== null && typeof displayName !== 'string') throw invalidValue('displayName', 'PasswordCredential');
  const startDateTime =
    dateInput(requested.startDateTime, 'startDateTime', 'PasswordCredential') ?? graphTimestamp(now);
  const endDateTime =
    dateInput(requested.endDateTime, 'endDateTime', 'PasswordCredential') ?? addYears(startDateTime, 2);
  if (Date.parse(endDateTime) <= Date.parse(startDateTime)) throw invalidValue('endDateTime', 'PasswordCredential');
  beforeApply?.(startDateTime, endDateTime);

  const secretText = newClientSecret();
  const keyId = newObjectId();
  const credential = {
    customKeyIdentifier: null,
    displayName,
    endDateTime,
    hint: secretText.slice(0, 3),
    keyId,
    secretText: null,
    startDateTime,
  };
  record.data.passwordCredentials = [...((record.data.passwordCredentials as Json[] | undefined) ?? []), credential];
  record.secretHashes[keyId] = sha256(secretText);
  record.credentialsUsableFrom[keyId] = usableFrom;
  return { ...credential, secretText };
}

/**
 * removePassword (https://learn.microsoft.com/graph/api/application-removepassword). An unknown keyId answers 404 Request_ResourceNotFound (Graph's exact answer is
 * unverified: the page names no error).
 */
export function removePassword(record: ApplicationRecord, body: unknown, beforeApply?: () => void): void {
  const keyId = (body as { keyId?: unknown } | undefined)?.keyId;
  if (typeof keyId !== 'string' || !GUID.test(keyId)) throw invalidValue('keyId', 'Application');
  const credentials = (record.data.passwordCredentials as Array<{ keyId: string }> | undefined) ?? [];
  if (!credentials.some((c) => c.keyId.toLowerCase() === keyId.toLowerCase())) {
    throw new GraphError(404, 'Request_ResourceNotFound', `No password credential found with keyId '${keyId}'.`);
  }
  beforeApply?.();
  record.data.passwordCredentials = credentials.filter((c) => c.keyId.toLowerCase() !== keyId.toLowerCase());
  for (const id of Object.keys(record.secretHashes)) {
    if (id.toLowerCase() === keyId.toLowerCase()) {
      delete record.secretHashes[id];
      delete record.credentialsUsableFrom[id];
    }
  }
}

/** "CN=x\nO=y" (Node) → "CN=x, O=y". */
function subjectName(certificate: X509Certificate): string {
  return certificate.subject.split('\n').join(', ');
}

function certificateDate(text: string): string {
  return new Date(text).toISOString().replace('.000Z', 'Z');
}

/**
 * PATCH keyCredentials (https://learn.microsoft.com/graph/applications-how-to-add-certificate): the list replaces all keys. Each new key is an X.509 certificate in base64
 * DER; customKeyIdentifier defaults to its thumbprint (SHA-1, upper-case hex, as that page's example and
 * the Entra portal show it), displayName to its subject,
 * start and end to its validity. An entry without `key` may name the keyId of a certificate already on the
 * app (what a client sends back after a GET without $select). Returns the stored credentials (key: null) and
 * the certificates by keyId.
 */
export function acceptKeyCredentials(
  input: unknown,
  existing: ApplicationRecord | undefined,
): { credentials: Json[]; certificates: Record<string, string> } {
  if (!Array.isArray(input)) throw invalidValue('keyCredentials', 'Application');
  const credentials: Json[] = [];
  const certificates: Record<string, string> = {};
  const previous = new Map(
    ((existing?.data.keyCredentials as Json[] | undefined) ?? []).map((c) => [String(c.keyId).toLowerCase(), c]),
  );
  for (const entry of input as unknown[]) {
    if (typeof entry !== 'object' || entry === null) throw invalidValue('keyCredentials', 'Application');
    const requested = entry as Record<string, unknown>;
    const keyIdInput = requested.keyId;
    if (keyIdInput !== undefined && keyIdInput !== null && (typeof keyIdInput !== 'string' || !GUID.test(keyIdInput))) {
      throw invalidValue('keyId', 'KeyCredential');
    }
    const keyId = typeof keyIdInput === 'string' ? keyIdInput.toLowerCase() : newObjectId();
    if (keyId in certificates) throw invalidValue('keyCredentials', 'Application');

    const type = requested.type;
    const usage = requested.usage;
    if (type !== 'AsymmetricX509Cert' && type !== 'X509CertAndPassword') throw invalidValue('type', 'KeyCredential');
    if (usage !== (type === 'AsymmetricX509Cert' ? 'Verify' : 'Sign')) throw invalidValue('usage', 'KeyCredential');

    let der: string;
    if (typeof requested.key === 'string' && requested.key !== '') {
      der = requested.key;
    } else if (existing?.certificates[keyId] && previous.has(keyId)) {
      der = existing.certificates[keyId];
    } else {
      throw invalidValue('key', 'KeyCredential');
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(Buffer.from(der, 'base64'));
    } catch {
      throw invalidValue('key', 'KeyCredential');
    }
    const notAfter = certificateDate(certificate.validTo);
    const startDateTime =
      dateInput(requested.startDateTime, 'startDateTime', 'KeyCredential') ?? certificateDate(certificate.validFrom);
    const endDateTime = dateInput(requested.endDateTime, 'endDateTime', 'KeyCredential') ?? notAfter;
    // Graph refuses a key credential that outlives its certificate (message unverified).
    if (Date.parse(endDateTime) > Date.parse(notAfter) || Date.parse(endDateTime) <= Date.parse(startDateTime)) {
      throw badRequest('Key credential end date is invalid.');
    }
    const customKeyIdentifier =
      typeof requested.customKeyIdentifier === 'string' && requested.customKeyIdentifier !== ''
        ? requested.customKeyIdentifier
        : createHash('sha1').update(certificate.raw).digest('hex').toUpperCase();
    credentials.push({
      customKeyIdentifier,
      displayName: typeof requested.displayName === 'string' ? requested.displayName : subjectName(certificate),
      endDateTime,
      key: null,
      keyId,
      startDateTime,
      type,
      usage,
    });
    certificates[keyId] = certificate.raw.toString('base64');
  }
  return { credentials, certificates };
}

/** keyCredentials with `key` filled in from the kept certificates (only under $select=keyCredentials: https://learn.microsoft.com/graph/api/resources/keycredential). */
export function withKeys(record: ApplicationRecord): Json[] {
  return ((record.data.keyCredentials as Json[] | undefined) ?? []).map((c) => ({
    ...c,
    key: record.certificates[String(c.keyId)] ?? null,
  }));
}

/**
 * The keys of a PATCH keyCredentials that are new or have new dates: what an app management policy judges.
 * Keys sent back unchanged were judged when added (Graph evaluates policies when credentials are added or
 * updated: https://learn.microsoft.com/graph/api/resources/appmanagementpolicy), so a stricter policy since then does not make the app's key list unwritable.
 */
export function addedOrChangedKeys(credentials: readonly Json[], existing: ApplicationRecord | undefined): Json[] {
  const previous = new Map(
    ((existing?.data.keyCredentials as Json[] | undefined) ?? []).map((c) => [String(c.keyId).toLowerCase(), c]),
  );
  return credentials.filter((c) => {
    const before = previous.get(String(c.keyId).toLowerCase());
    return !before || before.startDateTime !== c.startDateTime || before.endDateTime !== c.endDateTime;
  });
}
