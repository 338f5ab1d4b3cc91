/**
 * The Graph error classifier (https://learn.microsoft.com/graph/errors, https://learn.microsoft.com/graph/throttling)
 * on the errors the Graph client throws: a GraphError whose body is
 * the JSON of Graph's "error" object and whose headers are the response's. 400 and 403 are retried only for the
 * named replication messages; a 404 only for an object created moments ago.
 */
import { GraphError } from '@microsoft/microsoft-graph-client';
import {
  type CallContext,
  classifyGraphError,
  graphRetryClassifier,
  toRegistrarError,
} from '../../../src/adapters/graph/graph-errors';
import { RegistrarError } from '../../../src/domain/errors';

const NEW_ID = '11111111-1111-4111-8111-111111111111';
const OLD_ID = '22222222-2222-4222-8222-222222222222';

function graphError(
  status: number,
  code: string,
  message: string,
  options: { details?: unknown[]; headers?: Record<string, string> } = {},
): GraphError {
  const error = new GraphError(status, message);
  error.code = code;
  error.body = JSON.stringify({
    code,
    message,
    ...(options.details ? { details: options.details } : {}),
    innerError: { date: '2026-01-01T00:00:00' },
  });
  error.headers = new Headers(options.headers ?? {});
  return error;
}

function networkError(): GraphError {
  const error = new GraphError(-1, 'fetch failed');
  error.code = 'TypeError';
  error.body = 'TypeError: fetch failed';
  return error;
}

const context: CallContext = { isRecent: (id) => id === NEW_ID, references: [NEW_ID] };

describe('classifyGraphError', () => {
  test.each([
    [
      '429 with Retry-After',
      graphError(429, 'Request_ThrottledTemporarily', 'Your request is throttled temporarily.', {
        headers: { 'retry-after': '3' },
      }),
      { kind: 'throttled', retryAfterMs: 3000 },
    ],
    [
      '503 (refused, nothing done)',
      graphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable.', {
        headers: { 'retry-after': '1' },
      }),
      { kind: 'transient', applied: 'no', retryAfterMs: 1000 },
    ],
    [
      '504 (may have been done)',
      graphError(504, 'UnknownError', ''),
      { kind: 'transient', applied: 'maybe', retryAfterMs: undefined },
    ],
    ['a lost response', networkError(), { kind: 'transient', applied: 'maybe', retryAfterMs: undefined }],
    [
      '400 NoBackingApplicationObject',
      graphError(
        400,
        'Request_BadRequest',
        `The appId '${NEW_ID}' of the service principal does not reference a valid application object.`,
        { details: [{ code: 'NoBackingApplicationObject', target: 'appId' }] },
      ),
      { kind: 'replication', reason: 'NoBackingApplicationObject' },
    ],
    [
      '400 Not a valid reference update',
      graphError(400, 'Request_BadRequest', 'Not a valid reference update'),
      { kind: 'replication', reason: 'Not a valid reference update' },
    ],
    [
      '403 OwnedBy backing application',
      graphError(
        403,
        'Authorization_RequestDenied',
        'When using this permission, the backing application of the service principal being created must in the local tenant',
      ),
      { kind: 'replication', reason: 'backing application not yet replicated (OwnedBy)' },
    ],
    [
      '409 Directory_ConcurrencyViolation',
      graphError(409, 'Directory_ConcurrencyViolation', 'Error due to concurrent requests being made to the tenant.'),
      { kind: 'replication', reason: 'Directory_ConcurrencyViolation' },
    ],
    [
      '409 Error_MsaAppDoesNotExist',
      graphError(409, 'Error_MsaAppDoesNotExist', 'The corresponding MSA application does not exist.'),
      { kind: 'replication', reason: 'Error_MsaAppDoesNotExist' },
    ],
    [
      '404 about a new object',
      graphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${NEW_ID}' does not exist or one of its queried reference-property objects are not present.`,
      ),
      { kind: 'replication', reason: 'Request_ResourceNotFound for a new object' },
    ],
    [
      '404 about an old object',
      graphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${OLD_ID}' does not exist or one of its queried reference-property objects are not present.`,
      ),
      { kind: 'fatal' },
    ],
    [
      '400 duplicate app role assignment',
      graphError(400, 'Request_BadRequest', 'Permission being assigned already exists on the object.'),
      { kind: 'already-exists', what: 'app-role-assignment' },
    ],
    [
      '409 duplicate grant',
      graphError(409, 'Request_MultipleObjectsWithSameKeyValue', 'Permission entry already exists.'),
      { kind: 'already-exists', what: 'permission-grant' },
    ],
    [
      '400 duplicate grant',
      graphError(400, 'Request_BadRequest', 'Permission entry already exists.'),
      { kind: 'already-exists', what: 'permission-grant' },
    ],
    [
      '400 duplicate owner',
      graphError(
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'owners'.",
      ),
      { kind: 'already-exists', what: 'owner' },
    ],
    [
      '400 role assignment conflict',
      graphError(
        400,
        'Request_BadRequest',
        'A conflicting object with one or more of the specified property values is present in the directory.',
      ),
      { kind: 'already-exists', what: 'conflicting-object' },
    ],
    [
      '400 invalid value',
      graphError(
        400,
        'Request_BadRequest',
        "Invalid value specified for property 'displayName' of resource 'Application'.",
      ),
      { kind: 'fatal' },
    ],
    [
      '403 insufficient privileges',
      graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      { kind: 'fatal' },
    ],
  ])('when Graph answers %s, then it is classified as such', (_name, error, expected) => {
    expect(classifyGraphError(error, context)).toEqual(expected);
  });

  test('when an upsert by uniqueName meets its own uniqueName still replicating, then it is replication; elsewhere the same conflict is fatal', () => {
    const message = 'Another object with the same value for property uniqueName already exists.';
    const error = graphError(400, 'Request_BadRequest', message, {
      details: [{ code: 'ObjectConflict', message, target: 'uniqueName' }],
    });

    expect(classifyGraphError(error, { ...context, upsertByUniqueName: true }).kind).toBe('replication');
    expect(classifyGraphError(error, context).kind).toBe('fatal');
  });

  test('when a token cannot be had (an error raised before any request), then it is fatal, not a network blip', () => {
    const error = new GraphError(-1, 'AADSTS7000215: Invalid client secret provided.');
    error.code = 'AuthenticationError';

    expect(classifyGraphError(error, context)).toEqual({ kind: 'fatal' });
  });
});

describe('graphRetryClassifier', () => {
  test('when a call is not repeatable (addPassword), then a failure that may have done the work is not retried, and a refusal is', () => {
    const classify = graphRetryClassifier(context, false);

    expect(classify(networkError())).toBe('fail');
    expect(classify(graphError(500, 'UnknownError', ''))).toBe('fail');
    expect(classify(graphError(503, 'serviceNotAvailable', '', { headers: { 'retry-after': '2' } }))).toEqual({
      retryAfterMs: 2000,
    });
    expect(classify(graphError(429, 'TooManyRequests', ''))).toBe('retry');
    expect(classify(graphError(409, 'Directory_ConcurrencyViolation', ''))).toBe('retry');
  });

  test('when Graph answers 400 or 403 without a replication message, then it is never retried', () => {
    const classify = graphRetryClassifier(context);

    expect(classify(graphError(400, 'Request_BadRequest', 'One or more properties are invalid.'))).toBe('fail');
    expect(
      classify(graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.')),
    ).toBe('fail');
    expect(
      classify(graphError(400, 'Request_BadRequest', 'Permission being assigned already exists on the object.')),
    ).toBe('fail');
  });
});

describe('toRegistrarError', () => {
  test('when Graph answers 403, then the approver reads that a permission is missing and the operator reads which one and what was being done', () => {
    const error = toRegistrarError(
      graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      {
        doing: `adding owner ${OLD_ID} to application ${NEW_ID}`,
        requires: 'Application.ReadWrite.OwnedBy and Directory.Read.All',
      },
    );

    expect(error).toBeInstanceOf(RegistrarError);
    expect(error.code).toBe('not-authorized');
    expect(error.userMessage).toMatch(/not allowed.*administrator/i);
    expect(error.userMessage).not.toMatch(/403|Authorization_RequestDenied/);
    expect(error.message).toContain(`adding owner ${OLD_ID} to application ${NEW_ID}`);
    expect(error.message).toContain('403 Authorization_RequestDenied');
    expect(error.message).toContain('Directory.Read.All');
  });

  test('when throttling outlasts the deadline, then it is "unavailable" and says a retry resumes', () => {
    const error = toRegistrarError(graphError(429, 'TooManyRequests', 'Too many requests'), {
      doing: 'creating application registrar-1',
    });

    expect(error.code).toBe('unavailable');
    expect(error.userMessage).toMatch(/try again/i);
    expect(error.message).toMatch(/resumes/);
  });
});
