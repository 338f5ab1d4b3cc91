/**
 * The credentials table's keys (credential-index.ts): holders spread evenly over the sixteen partitions whatever
 * the case of their ids, and a fingerprint that changes with anything a credential row holds.
 */
import type { CredentialInfo } from '../../../src/domain/expiry';
import {
  CREDENTIAL_PARTITIONS,
  credentialPartition,
  expiryRow,
  fingerprintOf,
  PARTITIONS,
} from '../../../src/services/credential-index';

const secret = (overrides: Partial<CredentialInfo> = {}): CredentialInfo => ({
  applicationObjectId: '0b1c2d3e-0000-4000-8000-000000000001',
  source: 'application',
  appId: '11111111-0000-4000-8000-000000000001',
  appName: 'Payroll Sync',
  kind: 'secret',
  keyId: '22222222-0000-4000-8000-000000000001',
  endDateTime: '2026-04-01T00:00:00Z',
  managed: false,
  samlSigning: false,
  ...overrides,
});

const rowsOf = (...credentials: CredentialInfo[]) => new Map(credentials.map((c) => [expiryRow(c), c]));

test('20,000 object ids, numbered as a directory might hand them out, spread over the sixteen partitions within 10% of an even share; the case of an id does not matter', () => {
  const ids = Array.from(
    { length: 20_000 },
    (_, i) => `${i.toString(16).padStart(8, '0')}-5e1f-4c2a-9b3d-00000000a1b2`,
  );
  const counts = new Map<string, number>();
  for (const id of ids) {
    const partition = credentialPartition(id);
    counts.set(partition, (counts.get(partition) ?? 0) + 1);
  }
  expect(ids.slice(0, 100).every((id) => credentialPartition(id.toUpperCase()) === credentialPartition(id))).toBe(true);
  expect([...counts.keys()].sort()).toEqual([...CREDENTIAL_PARTITIONS].sort());
  expect(CREDENTIAL_PARTITIONS).toHaveLength(PARTITIONS);
  const even = ids.length / PARTITIONS;
  for (const count of counts.values()) expect(Math.abs(count - even)).toBeLessThan(even * 0.1);
});

test('the fingerprint is the same for the same rows in any order, and changes with any field of any row', () => {
  const a = secret();
  const b = secret({ keyId: '22222222-0000-4000-8000-000000000002', kind: 'certificate' });
  expect(fingerprintOf(rowsOf(a, b))).toBe(fingerprintOf(rowsOf(b, a)));
  expect(fingerprintOf(rowsOf(a, b))).toMatch(/^[A-Za-z0-9_-]{22}$/);
  const changed = [
    rowsOf(a),
    rowsOf(a, secret({ ...b, endDateTime: '2026-04-02T00:00:00Z' })),
    rowsOf(a, { ...b, appName: 'Payroll Sync (renamed)' }),
    rowsOf(a, { ...b, displayName: 'ci' }),
  ].map(fingerprintOf);
  expect(new Set([fingerprintOf(rowsOf(a, b)), ...changed]).size).toBe(changed.length + 1);
});
