import { randomBytes } from 'node:crypto';
import { parseCertificatePem } from '../../../src/domain/certificate-pem';
import { isRequestId, newRequestId, parseRequestId, requestIdAlphabet } from '../../../src/domain/request-id';
import { nextStep, stepsFor, toAppSpec } from '../../../src/domain/request';
import { form, megan, requester, submitted, submittedAt } from './fixtures';
import { rsaCertificate } from './test-certificates';

const counting = (start: number) => (size: number) => Uint8Array.from({ length: size }, (_, i) => start + i);

describe('request ids', () => {
  test('when an id is made, then it is 8 characters of the unambiguous alphabet, taken from the random source', () => {
    expect(newRequestId(counting(0))).toBe('01234567');
    expect(newRequestId(counting(24))).toBe('RSTVWXYZ');
    expect(newRequestId(counting(32))).toBe('01234567');
  });

  test('when many ids are made from real randomness, then none holds I, L, O or U and all are canonical', () => {
    for (let i = 0; i < 500; i++) {
      const id = newRequestId(randomBytes);
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
      expect(isRequestId(id)).toBe(true);
    }
    expect(requestIdAlphabet).toHaveLength(32);
  });

  test('when the random source gives too few bytes, then making an id fails loudly', () => {
    expect(() => newRequestId(() => new Uint8Array(4))).toThrow(/8 are needed/);
  });

  test.each([
    ['f3k9-2m7q', 'F3K92M7Q'],
    [' F3K92M7Q ', 'F3K92M7Q'],
    ['fok9 2m7q', 'F0K92M7Q'],
    ['FLK92MIQ', 'F1K92M1Q'],
    ['F3K92M7', undefined],
    ['F3K92M7QX', undefined],
    ['F3K92M7U', undefined],
    ['../../etc', undefined],
  ])('when a person types %j, then it reads as %j', (typed, id) => {
    expect(parseRequestId(typed)).toBe(id);
  });
});

describe('what a request asks Entra ID to create', () => {
  test('when owners are listed, then the requester comes first and nobody twice', () => {
    const request = submitted({ form: form({ additionalOwnerIds: [megan.aadObjectId, requester.aadObjectId] }) });

    expect(toAppSpec(request).ownerIds).toEqual([requester.aadObjectId, megan.aadObjectId]);
  });

  test('when a certificate and a directory role are asked for, then the spec carries both and provisioning has those steps', () => {
    const certificate = parseCertificatePem(
      rsaCertificate('payroll', 2048, new Date('2026-01-01Z'), new Date('2027-01-01Z')).certPem,
      submittedAt,
    );
    const role = {
      templateId: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
      displayName: 'User Administrator',
      summary: 'manage users',
    };
    const request = submitted({
      form: form({ credential: { kind: 'certificate', certificate }, directoryRole: role }),
    });

    expect(toAppSpec(request)).toMatchObject({
      requestId: 'F3K92M7Q',
      certificate,
      directoryRoleTemplateId: role.templateId,
    });
    expect(stepsFor(request)).toEqual([
      'application',
      'owners',
      'servicePrincipal',
      'consent',
      'directoryRole',
      'certificate',
    ]);
    expect(nextStep(request)).toBe('application');
  });

  test('when a request is submitted, then it waits for approval until the pending time to live has passed', () => {
    const request = submitted();

    expect(request).toMatchObject({
      status: 'submitted',
      approvals: [],
      createdAt: submittedAt.toISOString(),
      expiresAt: '2026-03-09T09:00:00.000Z',
    });
    expect(toAppSpec(request)).not.toHaveProperty('certificate');
    expect(stepsFor(request)).toEqual(['application', 'owners', 'servicePrincipal', 'consent']);
  });
});
