/**
 * What `npm run setup:permissions` does, through Microsoft Graph, signed in as an administrator: gives Registrar's
 * identity (a managed identity's service principal, or an app registration's) the application permissions of
 * src/domain/graph-app-permissions.ts that it lacks. It looks before it writes, so a second run grants nothing;
 * a grant that races another ("already exists") counts as already granted; it never removes a permission, and
 * names the Graph permissions the identity holds that Registrar does not need. Calls go through Registrar's retry
 * policy (lib/retry.ts with graph-errors.ts' classifier): 429 waits Retry-After, 503 and network failures back off.
 *
 * Graph calls, all as the administrator (who needs AppRoleAssignment.ReadWrite.All and Application.Read.All):
 *   GET  /servicePrincipals(appId='00000003-0000-0000-c000-000000000000')   Microsoft Graph and its app roles
 *   GET  /servicePrincipals(appId='{identity}'), else /servicePrincipals/{identity}
 *   GET  /servicePrincipals/{id}/appRoleAssignments                        (every page)
 *   POST /servicePrincipals/{id}/appRoleAssignments                        one per missing permission
 */
import type { Client, GraphRequest } from '@microsoft/microsoft-graph-client';
import { NO_CLIENT_RETRY } from '../adapters/graph/graph-client';
import { classifyGraphError, graphRetryClassifier, readGraphFailure } from '../adapters/graph/graph-errors';
import { MICROSOFT_GRAPH_APP_ID } from '../domain/app-spec';
import {
  type GraphAppPermission,
  graphAppPermissions,
  graphPermissionsToGrant,
  supersededGraphPermissions,
} from '../domain/graph-app-permissions';
import { realSleep, withRetry } from '../lib/retry';
import { isGuid } from '../domain/guid';

export interface GrantOptions {
  /** The client id (appId) or the object id of Registrar's identity: a managed identity's client id or principal id. */
  identity: string;
  /** Also grant the optional permissions (RoleManagement.ReadWrite.Directory, for requests that ask for a directory role). */
  directoryRoles: boolean;
  /** Look and say what would be granted; change nothing. */
  dryRun: boolean;
  /** Added to a sign-in failure's message: how this administrator signs in (az login, or the client secret). */
  signInHint?: string;
  /** How long one call keeps retrying throttling and outages (default 2 minutes); tests shorten the backoff. */
  stepTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export type PermissionStatus = 'granted' | 'already granted' | 'would grant' | 'not granted';

export interface PermissionOutcome {
  permission: GraphAppPermission;
  status: PermissionStatus;
  /** The app role assignment that holds it, when there is one. */
  assignmentId?: string;
}

/** A Graph application permission the identity holds that Registrar does not need: reported, never removed. */
export interface ExtraPermission {
  value: string;
  appRoleId: string;
  assignmentId: string;
  /** Why Registrar does not need it, when it is one an earlier setup granted. */
  reason?: string;
}

export interface GrantReport {
  identity: { id: string; appId: string; displayName: string };
  graphServicePrincipalId: string;
  /** Every permission of the list, in its order (the optional ones too, as 'not granted' when not asked for). */
  permissions: PermissionOutcome[];
  extra: ExtraPermission[];
  options: Pick<GrantOptions, 'identity' | 'directoryRoles' | 'dryRun'>;
}

/** The command could not do its work; the message says why and what to do. */
export class SetupError extends Error {
  override name = 'SetupError';
}

interface ServicePrincipal {
  id: string;
  appId: string;
  displayName?: string | null;
  appRoles?: Array<{ id: string; value?: string | null; isEnabled?: boolean }>;
}

interface Assignment {
  id: string;
  appRoleId: string;
  resourceId: string;
}

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

const SP_SELECT = ['id', 'appId', 'displayName'];
const lower = (s: string) => s.toLowerCase();

/** What the administrator needs when Graph answers 403. */
export const ADMIN_NEEDS =
  'Granting Microsoft Graph application permissions takes an administrator: sign in as a Privileged Role Administrator or a Global Administrator ' +
  '(with the delegated permissions AppRoleAssignment.ReadWrite.All and Application.Read.All, which the Azure CLI has). ' +
  'An app signing in with --admin-client-id needs the application permissions AppRoleAssignment.ReadWrite.All and Application.Read.All.';

export async function grantGraphPermissions(client: Client, options: GrantOptions): Promise<GrantReport> {
  const identity = options.identity.trim();
  if (!isGuid(identity)) {
    throw new SetupError(
      `--identity "${identity}" is not a GUID: give the client id (or the object id) of Registrar's identity.`,
    );
  }
  const call = caller(client, options);

  const graph = await call<ServicePrincipal | undefined>(
    "reading Microsoft Graph's service principal",
    (api) =>
      api(`/servicePrincipals(appId='${MICROSOFT_GRAPH_APP_ID}')`)
        .select(['id', 'appId', 'displayName', 'appRoles'])
        .get(),
    { notFound: () => undefined },
  );
  if (!graph) {
    throw new SetupError(
      `Microsoft Graph has no service principal in this tenant (appId ${MICROSOFT_GRAPH_APP_ID}). Check the tenant (--tenant) and the cloud (GRAPH_CLOUD).`,
    );
  }

  const lookUp = (doing: string, path: string) =>
    call<ServicePrincipal | undefined>(doing, (api) => api(path).select(SP_SELECT).get(), {
      notFound: () => undefined,
    });
  const registrar =
    (await lookUp(
      `looking up the service principal with client id ${identity}`,
      `/servicePrincipals(appId='${identity}')`,
    )) ??
    (await lookUp(`looking up the service principal with object id ${identity}`, `/servicePrincipals/${identity}`));
  if (!registrar) {
    throw new SetupError(
      `No service principal in this tenant has the client id or object id ${identity}. Give Registrar's identity: for the managed identity, its client id ` +
        '(the BOT_ID output of infra/main.bicep, or `az identity show --name <name> --resource-group <group> --query clientId`) or its principal id; ' +
        'for an app registration, its application (client) id. Check the tenant (--tenant) too.',
    );
  }
  if (lower(registrar.id) === lower(graph.id))
    throw new SetupError(`${identity} is Microsoft Graph itself, not Registrar's identity.`);

  const assignments: Assignment[] = [];
  let next: string | undefined = `/servicePrincipals/${registrar.id}/appRoleAssignments`;
  while (next) {
    const target: string = next;
    const page: Page<Assignment> = await call(
      `reading the application permissions of service principal ${registrar.id}`,
      (api) => api(target).get(),
    );
    assignments.push(...(page.value ?? []));
    next = page['@odata.nextLink'];
  }
  const onGraph = assignments.filter((a) => lower(a.resourceId) === lower(graph.id));
  const roles = graph.appRoles ?? [];

  const toGrant = new Set(graphPermissionsToGrant(options).map((p) => p.value));
  const permissions: PermissionOutcome[] = [];
  for (const permission of graphAppPermissions) {
    // The id is the same in every tenant; the value is the fallback should a cloud ever differ.
    const role = roles.find((r) => lower(r.id) === permission.id) ?? roles.find((r) => r.value === permission.value);
    if (!role || role.isEnabled === false)
      throw new SetupError(
        `Microsoft Graph in this tenant has no application permission ${permission.value} (${permission.id}).`,
      );
    const held = onGraph.find((a) => lower(a.appRoleId) === lower(role.id));
    if (held) {
      permissions.push({ permission, status: 'already granted', assignmentId: held.id });
      continue;
    }
    if (!toGrant.has(permission.value)) {
      permissions.push({ permission, status: 'not granted' });
      continue;
    }
    if (options.dryRun) {
      permissions.push({ permission, status: 'would grant' });
      continue;
    }
    const doing = `granting ${permission.value} to service principal ${registrar.id}`;
    const body = { principalId: registrar.id, resourceId: graph.id, appRoleId: role.id };
    const created = await call<Assignment | undefined>(
      doing,
      (api) => api(`/servicePrincipals/${registrar.id}/appRoleAssignments`).post(body),
      {
        // Someone (or an earlier run whose answer was lost) granted it between the read and now.
        alreadyExists: () => undefined,
      },
    );
    permissions.push(
      created ? { permission, status: 'granted', assignmentId: created.id } : { permission, status: 'already granted' },
    );
  }

  const known = new Set<string>(graphAppPermissions.map((p) => p.id));
  const extra: ExtraPermission[] = onGraph
    .filter((a) => !known.has(lower(a.appRoleId)))
    .map((a) => {
      const value = roles.find((r) => lower(r.id) === lower(a.appRoleId))?.value ?? a.appRoleId;
      const reason = supersededGraphPermissions.find((s) => s.value === value)?.reason;
      return { value, appRoleId: a.appRoleId, assignmentId: a.id, ...(reason ? { reason } : {}) };
    });

  return {
    identity: { id: registrar.id, appId: registrar.appId, displayName: registrar.displayName ?? registrar.appId },
    graphServicePrincipalId: graph.id,
    permissions,
    extra,
    options: { identity, directoryRoles: options.directoryRoles, dryRun: options.dryRun },
  };
}

const STATUS_WIDTH = 'already granted'.length;

/** What the command prints: one line per permission, one per extra permission, and what follows. */
export function formatReport(report: GrantReport): string[] {
  const { identity, options } = report;
  const line = (status: PermissionStatus | 'extra', text: string) => `  ${status.padEnd(STATUS_WIDTH)}  ${text}`;
  const lines = [
    `Microsoft Graph application permissions of ${identity.displayName} (client id ${identity.appId}, service principal ${identity.id})${options.dryRun ? ', dry run: nothing is changed' : ''}:`,
  ];
  for (const { permission, status } of report.permissions) {
    if (status === 'not granted') {
      lines.push(
        line(
          status,
          `${permission.value} (optional): requests that ask for a directory role will fail at the directory role step; ` +
            `grant it later with: npm run setup:permissions -- --identity ${options.identity} --directory-roles`,
        ),
      );
    } else {
      lines.push(
        line(status, permission.optional ? `${permission.value} (optional, for directory roles)` : permission.value),
      );
    }
  }
  for (const extra of report.extra) {
    lines.push(
      line(
        'extra',
        `${extra.value}: Registrar does not need it${extra.reason ? ` (${extra.reason})` : ''}; left in place, remove it if nothing else uses it`,
      ),
    );
  }
  const count = (status: PermissionStatus) => report.permissions.filter((p) => p.status === status).length;
  const summary = options.dryRun
    ? `${count('would grant')} would be granted, ${count('already granted')} already granted`
    : `${count('granted')} granted, ${count('already granted')} already granted`;
  lines.push(`${summary}${report.extra.length > 0 ? `, ${report.extra.length} extra left in place` : ''}.`);
  if (!options.dryRun && count('granted') > 0) {
    lines.push(
      'Tokens issued before now do not carry the new permissions: Registrar uses them from its next token on. ' +
        "Azure caches a managed identity's tokens, so that can take up to about a day (Microsoft: limitation of using managed identities for authorization).",
    );
  }
  return lines;
}

type Api = (path: string) => GraphRequest;
type Call = <T>(
  doing: string,
  send: (api: Api) => Promise<unknown>,
  on?: { notFound?: () => T; alreadyExists?: () => T },
) => Promise<T>;

/** One Graph call through the retry policy; what is left of a failure becomes a SetupError that says what to do. */
function caller(client: Client, options: GrantOptions): Call {
  // Registrar's retry policy decides; the Graph client's own RetryHandler would wait again on top of it.
  const api: Api = (path) => client.api(path).middlewareOptions([NO_CLIENT_RETRY]);
  const retryable = graphRetryClassifier({ isRecent: () => false });
  return async <T>(
    doing: string,
    send: (api: Api) => Promise<unknown>,
    on: { notFound?: () => T; alreadyExists?: () => T } = {},
  ): Promise<T> => {
    try {
      return (await withRetry(() => send(api), {
        classify: retryable,
        deadline: new Date(Date.now() + (options.stepTimeoutMs ?? 120_000)),
        baseDelayMs: options.baseDelayMs ?? 1000,
        maxDelayMs: options.maxDelayMs ?? 30_000,
        sleep: options.sleep ?? realSleep,
      })) as T;
    } catch (err) {
      if (on.notFound && readGraphFailure(err).status === 404) return on.notFound();
      if (on.alreadyExists && classifyGraphError(err, { isRecent: () => false }).kind === 'already-exists')
        return on.alreadyExists();
      throw explain(err, doing, options);
    }
  };
}

/** Raised by @azure/identity before any Graph request was sent. */
const SIGN_IN_FAILURES = new Set([
  'AuthenticationError',
  'AuthenticationRequiredError',
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
]);

function explain(err: unknown, doing: string, options: GrantOptions): SetupError {
  const f = readGraphFailure(err);
  if (SIGN_IN_FAILURES.has(f.code)) {
    return new SetupError(
      `Could not sign in to Microsoft Entra ID: ${f.message}${options.signInHint ? `\n${options.signInHint}` : ''}`,
    );
  }
  const said =
    f.status === undefined
      ? `no answer from Microsoft Graph (${f.code}: ${f.message})`
      : `Microsoft Graph answered ${f.status} ${f.code}: "${f.message}"`;
  if (f.status === 403) return new SetupError(`Refused while ${doing}: ${said}.\n${ADMIN_NEEDS}`);
  if (f.status === 401)
    return new SetupError(
      `Refused while ${doing}: ${said}. The token is not for this tenant or cloud: check --tenant and GRAPH_CLOUD.`,
    );
  return new SetupError(`Failed while ${doing}: ${said}.`);
}
