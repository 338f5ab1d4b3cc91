/**
 * The application, its service principal and their owners. Each is looked for before it is written: the
 * application is upserted by uniqueName (https://learn.microsoft.com/graph/api/application-upsert), the service
 * principal by appId (https://learn.microsoft.com/graph/api/serviceprincipal-upsert), and the owners are listed
 * first and only the missing ones added.
 */
import { type AppSpec, markerTag, type PermissionType, tagsFor, uniqueNameFor } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { ProvisionedApp, StepContext } from '../../services/ports';
import { keyLiteral, stringLiteral } from './graph-caller';
import type { FailureHelp } from './graph-errors';
import { callOf, distinct, lower, startStep, type Step, type StepDeps } from './graph-step';

/** https://learn.microsoft.com/graph/api/resources/application: notes holds at most 1024 characters. */
const NOTES_LIMIT = 1024;

/**
 * The application as the request describes it (https://learn.microsoft.com/graph/api/resources/application):
 * every collection is written whole, so a re-run converges.
 */
export function applicationBody(spec: AppSpec): Record<string, unknown> {
  const uris = (platform: AppSpec['platform']) => (spec.platform === platform ? [...spec.redirectUris] : []);
  const byResource = new Map<string, Array<{ id: string; type: PermissionType }>>();
  for (const p of distinct(spec.permissions, (x) => `${lower(x.resourceAppId)}/${lower(x.id)}/${x.type}`)) {
    const list = byResource.get(p.resourceAppId) ?? [];
    list.push({ id: p.id, type: p.type });
    byResource.set(p.resourceAppId, list);
  }
  const notes = `${spec.purpose}\n\nRegistered through Registrar, request ${spec.requestId}.`;
  return {
    displayName: spec.displayName,
    signInAudience: spec.signInAudience,
    web: { redirectUris: uris('web') },
    spa: { redirectUris: uris('spa') },
    publicClient: { redirectUris: uris('publicClient') },
    requiredResourceAccess: [...byResource].map(([resourceAppId, resourceAccess]) => ({
      resourceAppId,
      resourceAccess,
    })),
    tags: tagsFor(spec.requestId, spec.marker),
    notes: notes.length <= NOTES_LIMIT ? notes : `${notes.slice(0, NOTES_LIMIT - 1)}…`,
    // Written every time, so that a re-run after the request changed converges: false unless the request asks for
    // device code or desktop flows (https://learn.microsoft.com/graph/api/resources/application).
    isFallbackPublicClient: spec.isFallbackPublicClient === true,
    // Personal Microsoft accounts require v2 access tokens: Graph refuses the audience otherwise
    // (https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation).
    ...(spec.signInAudience === 'AzureADandPersonalMicrosoftAccount'
      ? { api: { requestedAccessTokenVersion: 2 } }
      : {}),
  };
}

export class ApplicationSteps {
  constructor(private readonly deps: StepDeps) {}

  async upsertApplication(spec: AppSpec, context: StepContext): Promise<ProvisionedApp> {
    const { graph } = this.deps;
    const uniqueName = uniqueNameFor(spec.requestId);
    const step = startStep(this.deps, 'upsert-application', context, []);
    const path = `/applications(uniqueName='${keyLiteral(uniqueName)}')`;
    const help: FailureHelp = {
      doing: `creating or updating application ${uniqueName}`,
      requires: 'Application.ReadWrite.All',
    };
    // Look before writing: an application that already holds this uniqueName and was not made for this request
    // (another deployment's, an old table's, anyone's) is left as it is. The upsert below would rename it.
    type Found = { id: string; appId: string; tags?: string[] | null };
    const existing = await graph.get<{ value?: Found[] }>(
      { path: '/applications', select: ['id', 'tags'], filter: `uniqueName eq ${stringLiteral(uniqueName)}` },
      callOf(step, help, []),
    );
    const holder = existing.value?.[0];
    if (holder) requireOurs(spec, uniqueName, holder);
    // Written now, so reads may miss it for a while whatever the answer.
    step.recent.add(uniqueName);
    const created = await graph.send<{ id?: string; appId?: string } | undefined>(
      { method: 'PATCH', path, body: applicationBody(spec), headers: { Prefer: 'create-if-missing' } },
      callOf(step, help, [uniqueName], { upsertByUniqueName: true }),
    );
    if (created?.id && created.appId) {
      step.log.info({ applicationObjectId: created.id, appId: created.appId }, 'application created');
      return { applicationObjectId: created.id, appId: created.appId, created: true };
    }
    const found = await graph.get<Found>({ path, select: ['id', 'appId', 'tags'] }, callOf(step, help, [uniqueName]));
    // Updated, not created: it existed. Replication may have hidden it from the list above, so check it again
    // before anything else (owners, service principal, permissions, a secret) touches it.
    requireOurs(spec, uniqueName, found);
    step.log.info({ applicationObjectId: found.id, appId: found.appId }, 'application updated');
    return { applicationObjectId: found.id, appId: found.appId, created: false };
  }

  async ensureApplicationOwners(
    applicationObjectId: string,
    ownerIds: readonly string[],
    context: StepContext,
  ): Promise<void> {
    await this.ensureOwners(
      'applications',
      applicationObjectId,
      ownerIds,
      startStep(this.deps, 'ensure-application-owners', context, [applicationObjectId]),
    );
  }

  async ensureServicePrincipal(appId: string, ownerIds: readonly string[], context: StepContext): Promise<string> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'ensure-service-principal', context, [appId]);
    const path = `/servicePrincipals(appId='${keyLiteral(appId)}')`;
    const help: FailureHelp = {
      doing: `creating the service principal of application ${appId}`,
      requires: 'Application.ReadWrite.All',
    };
    const created = await graph.send<{ id?: string } | undefined>(
      { method: 'PATCH', path, body: {}, headers: { Prefer: 'create-if-missing' } },
      callOf(step, help, [appId]),
    );
    let servicePrincipalId: string;
    if (created?.id) {
      servicePrincipalId = created.id;
      step.recent.add(servicePrincipalId);
      step.log.info({ appId, servicePrincipalId }, 'service principal created');
    } else {
      servicePrincipalId = (await graph.get<{ id: string }>({ path, select: ['id'] }, callOf(step, help, [appId]))).id;
      // Made by an earlier attempt whose answer was lost, or long ago: as recent as its application.
      step.recent.addIfFresh(servicePrincipalId);
      step.log.info({ appId, servicePrincipalId }, 'service principal found');
    }
    await this.ensureOwners('servicePrincipals', servicePrincipalId, ownerIds, {
      ...startStep(this.deps, 'ensure-service-principal-owners', context, []),
      recent: step.recent,
    });
    return servicePrincipalId;
  }

  /**
   * Lists the owners and adds the missing ones with $ref (https://learn.microsoft.com/graph/api/application-post-owners,
   * https://learn.microsoft.com/graph/api/serviceprincipal-post-owners); "already exist" (an earlier attempt landed) is done.
   */
  private async ensureOwners(
    set: 'applications' | 'servicePrincipals',
    objectId: string,
    ownerIds: readonly string[],
    step: Step,
  ): Promise<void> {
    const { graph } = this.deps;
    const what = set === 'applications' ? 'application' : 'service principal';
    const help: FailureHelp = {
      doing: `adding owners to ${what} ${objectId}`,
      requires: 'Application.ReadWrite.All and Directory.Read.All (OwnedBy is not enough to add an owner)',
    };
    const call = callOf(step, help, [objectId]);
    const current = await graph.list<{ id: string }>({ path: `/${set}/${objectId}/owners`, select: ['id'] }, call);
    const have = new Set(current.map((o) => lower(o.id)));
    const missing = distinct(ownerIds, lower).filter((id) => !have.has(lower(id)));
    for (const ownerId of missing) {
      try {
        await graph.attempt(
          {
            method: 'POST',
            path: `/${set}/${objectId}/owners/$ref`,
            body: { '@odata.id': `${graph.connection.graphHost}/v1.0/directoryObjects/${ownerId}` },
          },
          call,
        );
        step.log.info({ objectId, ownerId }, 'owner added');
      } catch (err) {
        const c = graph.classify(err, call);
        if (c.kind === 'already-exists' && c.what === 'owner') {
          step.log.info({ objectId, ownerId }, 'owner already present');
          continue;
        }
        throw graph.fail(err, {
          log: step.log,
          help: { ...help, doing: `adding owner ${ownerId} to ${what} ${objectId}` },
        });
      }
    }
    if (missing.length === 0) step.log.info({ objectId, owners: ownerIds.length }, 'owners already present');
  }
}

/** Refuses an application this request did not make: it lacks the request's marker (or, for an older request, its tag). */
function requireOurs(spec: AppSpec, uniqueName: string, app: { id: string; tags?: string[] | null }): void {
  const tags = app.tags ?? [];
  const ours = spec.marker ? tags.includes(markerTag(spec.marker)) : tags.includes(tagsFor(spec.requestId)[1]!);
  if (ours) return;
  throw new RegistrarError(
    'conflict',
    `An application with the unique name ${uniqueName} already exists in Entra ID, and Registrar did not create it for this request, so it left it untouched. Ask for the app again with \`request\`; an administrator can look at application ${app.id}.`,
    { detail: `application ${app.id} holds uniqueName ${uniqueName} without this request's marker tag; not adopted` },
  );
}
