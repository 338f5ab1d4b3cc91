/**
 * The one place that reads Graph's failures (https://learn.microsoft.com/graph/errors,
 * https://learn.microsoft.com/graph/throttling). Every error from the Graph client is classified into what the
 * caller can do about it:
 *   throttled       429: wait Retry-After, exactly, then retry;
 *   transient       500/502/503/504 and network failures: back off and retry (only if repeating the call is safe);
 *   replication     the named messages Entra gives while a new object replicates: back off and retry;
 *   already-exists  the duplicate answers that mean an earlier attempt landed: adopt the existing object;
 *   fatal           everything else: a RegistrarError that says what failed and how to fix it.
 * 400 and 403 are fatal unless their message is one of the replication messages named below.
 */
import { RegistrarError, type ErrorCode } from '../../domain/errors';
import { parseRetryAfter, type RetryDecision } from '../../lib/retry';

/** What the provisioner needs to know about one Graph failure, read from the client's GraphError (or a network error). */
export interface GraphFailure {
  /** HTTP status; undefined when no response arrived (network failure, lost response). */
  status: number | undefined;
  /** error.code, e.g. Request_BadRequest; for a failure without a response, the JS error's name. */
  code: string;
  message: string;
  /** error.details[].code, e.g. NoBackingApplicationObject. */
  detailCodes: string[];
  /** error.details[].target, e.g. uniqueName. */
  detailTargets: string[];
  retryAfterMs: number | undefined;
}

export type AlreadyExists = 'app-role-assignment' | 'permission-grant' | 'owner' | 'conflicting-object';

export type GraphErrorClass =
  | { kind: 'throttled'; retryAfterMs: number | undefined }
  /** applied: whether the call may have taken effect although it failed (a lost response, a 500/502/504). */
  | { kind: 'transient'; applied: 'no' | 'maybe'; retryAfterMs: number | undefined }
  | { kind: 'replication'; reason: string }
  | { kind: 'already-exists'; what: AlreadyExists }
  | { kind: 'fatal' };

/** What the caller knows about the call, for the decisions that depend on it. */
export interface CallContext {
  /** Whether an object id or appId was created (or first seen) so recently that Entra may not have replicated it. */
  isRecent: (id: string) => boolean;
  /** The ids this call names (in its path or body): a 404 that names none of them is judged by these. */
  references?: readonly string[];
  /** An upsert by uniqueName: a uniqueName conflict then means the object exists but is still replicating. */
  upsertByUniqueName?: boolean;
  /**
   * The creation of a resource API's service principal from its appId alone: no application of this tenant is being
   * created behind it, so NoBackingApplicationObject means there is no such app (not one still replicating).
   */
  resourceServicePrincipal?: boolean;
}

/** Errors raised before any request was sent: retrying will not help. */
// AuthenticationRequiredError is what a refused client secret (AADSTS7000215) arrives as through the Graph client.
const LOCAL_FAILURES = new Set([
  'AuthenticationError',
  'AuthenticationRequiredError',
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'GraphClientError',
]);

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export const messages = {
  appRoleAssignmentExists: 'Permission being assigned already exists on the object.',
  permissionEntryExists: 'Permission entry already exists.',
  ownerExists: 'One or more added object references already exist',
  conflictingObject:
    'A conflicting object with one or more of the specified property values is present in the directory.',
  notValidReferenceUpdate: 'Not a valid reference update',
  noBackingApplication: 'does not reference a valid application object',
  ownedByBackingApplication: 'the backing application of the service principal being created must in the local tenant',
  referencePropertyMissing: 'does not exist or one of its queried reference-property objects are not present',
} as const;

function headerOf(headers: unknown, name: string): string | null {
  if (headers && typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(n: string): string | null }).get(name);
  if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers as Record<string, unknown>))
      if (k.toLowerCase() === name) return typeof v === 'string' ? v : null;
  }
  return null;
}

/** Reads the client's GraphError (statusCode, code, body = JSON of error, headers) or any thrown value. */
export function readGraphFailure(error: unknown, now: number = Date.now()): GraphFailure {
  const e = (error ?? {}) as {
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
    body?: unknown;
    headers?: unknown;
    name?: unknown;
  };
  const statusCode = typeof e.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : undefined;
  let inner: { code?: unknown; message?: unknown; details?: unknown } = {};
  if (typeof e.body === 'string' && e.body.startsWith('{')) {
    try {
      inner = JSON.parse(e.body) as typeof inner;
    } catch {
      inner = {};
    }
  } else if (e.body && typeof e.body === 'object') {
    inner = e.body as typeof inner;
  }
  // Older Entra answers put the message in { value } and details as one object, not the array
  // https://learn.microsoft.com/graph/errors describes.
  const messageOf = (m: unknown): string =>
    typeof m === 'string'
      ? m
      : m && typeof m === 'object' && typeof (m as { value?: unknown }).value === 'string'
        ? (m as { value: string }).value
        : '';
  const details = Array.isArray(inner.details) ? (inner.details as unknown[]) : inner.details ? [inner.details] : [];
  const detail = (field: 'code' | 'target') =>
    details
      .map((d) => (d && typeof d === 'object' ? (d as Record<string, unknown>)[field] : undefined))
      .filter((v): v is string => typeof v === 'string');
  const code =
    typeof inner.code === 'string'
      ? inner.code
      : typeof e.code === 'string' && e.code !== ''
        ? e.code
        : typeof e.name === 'string'
          ? e.name
          : 'Error';
  return {
    status: statusCode,
    code,
    message: messageOf(inner.message) || (typeof e.message === 'string' ? e.message : String(error)),
    detailCodes: detail('code'),
    detailTargets: detail('target'),
    retryAfterMs: parseRetryAfter(headerOf(e.headers, 'retry-after'), now),
  };
}

const has = (f: GraphFailure, text: string) => f.message.toLowerCase().includes(text.toLowerCase());

/**
 * Graph's status codes (https://learn.microsoft.com/graph/errors) and Entra ID's replication answers, in one
 * function. The replication messages are those Terraform's azuread provider retries after a create
 * (github.com/hashicorp/terraform-provider-azuread, internal/services/*: "does not reference a valid application
 * object", "Not a valid reference update", the OwnedBy backing-application 403).
 */
export function classifyGraphFailure(f: GraphFailure, context: CallContext): GraphErrorClass {
  const { status } = f;
  if (status === undefined) {
    if (LOCAL_FAILURES.has(f.code)) return { kind: 'fatal' };
    return { kind: 'transient', applied: 'maybe', retryAfterMs: undefined };
  }
  if (status === 429) return { kind: 'throttled', retryAfterMs: f.retryAfterMs };
  // 503 is a refusal: the service did not take the call. 500/502/504 may come after the work was done.
  if (status === 503) return { kind: 'transient', applied: 'no', retryAfterMs: f.retryAfterMs };
  if (status === 500 || status === 502 || status === 504 || status === 408)
    return { kind: 'transient', applied: 'maybe', retryAfterMs: f.retryAfterMs };

  if (status === 400) {
    if (has(f, messages.appRoleAssignmentExists)) return { kind: 'already-exists', what: 'app-role-assignment' };
    if (has(f, messages.permissionEntryExists)) return { kind: 'already-exists', what: 'permission-grant' };
    if (has(f, messages.ownerExists)) return { kind: 'already-exists', what: 'owner' };
    if (has(f, messages.conflictingObject)) return { kind: 'already-exists', what: 'conflicting-object' };
    if (f.detailCodes.includes('NoBackingApplicationObject') || has(f, messages.noBackingApplication)) {
      if (context.resourceServicePrincipal) return { kind: 'fatal' };
      return { kind: 'replication', reason: 'NoBackingApplicationObject' };
    }
    if (has(f, messages.notValidReferenceUpdate))
      return { kind: 'replication', reason: 'Not a valid reference update' };
    if (has(f, messages.referencePropertyMissing) && mentionsRecent(f, context))
      return { kind: 'replication', reason: 'reference not yet replicated' };
    if (
      context.upsertByUniqueName &&
      f.detailCodes.includes('ObjectConflict') &&
      f.detailTargets.includes('uniqueName')
    ) {
      // The upsert's own uniqueName clashes with an object that other replicas cannot see yet.
      return { kind: 'replication', reason: 'uniqueName still replicating' };
    }
    return { kind: 'fatal' };
  }
  if (status === 403) {
    if (has(f, messages.ownedByBackingApplication))
      return { kind: 'replication', reason: 'backing application not yet replicated (OwnedBy)' };
    return { kind: 'fatal' };
  }
  if (status === 404) {
    if (
      (f.code === 'Request_ResourceNotFound' || f.code === 'Directory_ObjectNotFound') &&
      mentionsRecent(f, context)
    ) {
      return { kind: 'replication', reason: `${f.code} for a new object` };
    }
    return { kind: 'fatal' };
  }
  if (status === 409) {
    if (f.code === 'Directory_ConcurrencyViolation')
      return { kind: 'replication', reason: 'Directory_ConcurrencyViolation' };
    if (f.code === 'Error_MsaAppDoesNotExist') return { kind: 'replication', reason: 'Error_MsaAppDoesNotExist' };
    if (has(f, messages.permissionEntryExists)) return { kind: 'already-exists', what: 'permission-grant' };
    return { kind: 'fatal' };
  }
  return { kind: 'fatal' };
}

/** A 404 (or missing reference) is replication only when it is about an object created moments ago. */
function mentionsRecent(f: GraphFailure, context: CallContext): boolean {
  const named = GUID.exec(f.message)?.[0];
  if (named) return context.isRecent(named);
  return (context.references ?? []).some((id) => context.isRecent(id));
}

export function classifyGraphError(error: unknown, context: CallContext): GraphErrorClass {
  return classifyGraphFailure(readGraphFailure(error), context);
}

/**
 * The retry policy's classifier for a Graph call. `repeatable`: repeating the call cannot do the work twice
 * (reads, PATCH, $ref, and creates whose duplicate is refused); when false (addPassword), a failure after which
 * the work may have been done is not retried. Already-exists answers are not retried: the caller adopts them.
 */
export function graphRetryClassifier(context: CallContext, repeatable = true): (error: unknown) => RetryDecision {
  return (error) => {
    const c = classifyGraphError(error, context);
    switch (c.kind) {
      case 'throttled':
        return c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : 'retry';
      case 'transient':
        if (!repeatable && c.applied === 'maybe') return 'fail';
        return c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : 'retry';
      case 'replication':
        return 'retry';
      default:
        return 'fail';
    }
  };
}

/** A Graph call that failed for good: what Registrar was doing, what Graph said, and what an administrator can do. */
export class GraphRequestFailed extends RegistrarError {
  constructor(
    code: ErrorCode,
    userMessage: string,
    readonly doing: string,
    readonly failure: GraphFailure,
    detail: string,
    cause: unknown,
  ) {
    super(code, userMessage, { cause, detail });
  }
}

export interface FailureHelp {
  /** What Registrar was doing, for the operator: "adding owner 1234 to application 5678". */
  doing: string;
  /** The application permission(s) the call needs (https://learn.microsoft.com/graph/permissions-reference), named in the 403 message. */
  requires?: string;
}

/** Turns any failure of a Graph call into a RegistrarError for an approver (userMessage) and an operator (detail). */
export function toRegistrarError(error: unknown, help: FailureHelp): RegistrarError {
  if (error instanceof RegistrarError) return error;
  const f = readGraphFailure(error);
  const said =
    f.status === undefined
      ? `no answer from Graph (${f.code}: ${f.message})`
      : `Graph answered ${f.status} ${f.code}: "${f.message}"`;
  const fail = (code: ErrorCode, userMessage: string, fix: string) =>
    new GraphRequestFailed(code, userMessage, help.doing, f, `${help.doing}: ${said}. ${fix}`, error);
  const status = f.status;
  if (status === undefined && LOCAL_FAILURES.has(f.code)) {
    return fail(
      'unavailable',
      'Registrar cannot sign in to Microsoft Entra ID right now, so nothing was changed. An administrator has been told.',
      'Registrar could not get a Graph token: check AZURE_TENANT_ID, AZURE_CLIENT_ID and its secret, certificate or managed identity.',
    );
  }
  if (status === undefined || status === 429 || status >= 500) {
    return fail(
      'unavailable',
      'Microsoft Entra ID is busy or unreachable right now. What was done so far is kept; try again in a few minutes.',
      'Graph kept refusing or failing within the deadline; retrying later resumes where this stopped.',
    );
  }
  if (status === 401) {
    return fail(
      'unavailable',
      'Registrar cannot sign in to Microsoft Entra ID right now. An administrator has been told.',
      "The token was refused: check Registrar's credential and that it is for this tenant and cloud (GRAPH_CLOUD).",
    );
  }
  if (status === 403) {
    const needs = help.requires
      ? `Grant Registrar's app the application permission ${help.requires} (with admin consent)`
      : "Check Registrar's application permissions (infra/README.md lists them)";
    return fail(
      'not-authorized',
      'Registrar is not allowed to do this in Microsoft Entra ID. An administrator needs to grant it a missing permission; then try again.',
      `${needs}; npm run setup:permissions grants every permission Registrar needs (infra/README.md).`,
    );
  }
  if (status === 404) {
    return fail(
      'not-found',
      'Something this request needs no longer exists in Microsoft Entra ID (it may have been deleted). An administrator should look at it.',
      'The object named in the message does not exist: it was deleted, or the id is wrong. If it was created moments ago, retry.',
    );
  }
  if (status === 409) {
    return fail(
      'conflict',
      'Microsoft Entra ID reported a conflict. Try again in a minute.',
      'Another change to the same object raced with this one; retry.',
    );
  }
  // An app management policy refused the credential (addPassword, PATCH keyCredentials): its words say which
  // (https://learn.microsoft.com/graph/api/resources/applicationauthenticationmethodpolicy).
  if (status === 400 && /AsPerAppPolicy$/.test(f.code)) {
    return fail(
      'invalid-input',
      `Microsoft Entra ID refused the credential under the tenant's app management policy: "${f.message}" Nothing was added; ask for a credential the policy allows.`,
      'The app management policy in force (GET /policies/defaultAppManagementPolicy, or the one assigned to the app) forbids this credential or its lifetime.',
    );
  }
  return fail(
    'invalid-input',
    'Microsoft Entra ID refused part of this request. An administrator should look at the details.',
    'Graph refused the request as invalid (a value, a tenant policy such as an app management policy, or a limit); the message says which.',
  );
}
