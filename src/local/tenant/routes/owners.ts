/**
 * Owners of applications and service principals (https://learn.microsoft.com/graph/api/application-post-owners): add with $ref, list as directory objects, remove.
 * Owners are users or service principals. Adding one to an application needs Application.ReadWrite.All (or
 * Directory.ReadWrite.All): "Application.ReadWrite.OwnedBy isn't sufficient to add another owner" (Microsoft's
 * application Add owner page), even on an application the caller owns. The service principal page has no such
 * note: there, as for removing owners, OwnedBy reaches what the caller owns. Every write also needs
 * Directory.Read.All to resolve the reference (the pages' permission tables).
 */
import { type RouteModule, isVisible } from '../context';
import { badRequest, type GraphRequest, notFound, OWNED_BY, type Permission, type Route } from '../http';
import type { ApplicationRecord, ServicePrincipalRecord, TenantState } from '../state';
import { asDirectoryObject, collection, directoryObjects, findDirectoryObject } from './directory';
import { APP_READ } from './service-principals';

const TARGETS = [
  { set: 'applications', pattern: '/applications/{id}' },
  { set: 'applications', pattern: "/applications(appId='{appId}')" },
  { set: 'servicePrincipals', pattern: '/servicePrincipals/{id}' },
  { set: 'servicePrincipals', pattern: "/servicePrincipals(appId='{appId}')" },
] as const;

type Target = (typeof TARGETS)[number];
type Owned = ApplicationRecord | ServicePrincipalRecord;

/** The application or service principal a path names, visible or not (undefined when there is none). */
function lookup(state: TenantState, target: Target, params: Record<string, string>): Owned | undefined {
  const byAppId = params.appId !== undefined;
  const key = (params.appId ?? params.id ?? '').toLowerCase();
  if (target.set === 'applications') {
    const id = byAppId ? state.appIdToApplication.get(key) : key;
    return id ? state.data.applications[id] : undefined;
  }
  const id = byAppId ? state.appIdToServicePrincipal.get(key) : key;
  return id ? state.data.servicePrincipals[id] : undefined;
}

const REFERENCE =
  /^https:\/\/[^/]+\/v1\.0\/(?:directoryObjects|users|servicePrincipals)\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

/** The object id in "@odata.id", which names Graph (or this emulator) as the service root. */
function referencedId(request: GraphRequest): string {
  const value = (request.body as Record<string, unknown> | undefined)?.['@odata.id'];
  const text = typeof value === 'string' ? value : '';
  const m = REFERENCE.exec(text);
  const root = m ? text.slice(0, text.indexOf('/v1.0/') + '/v1.0'.length) : '';
  if (!m || (root !== 'https://graph.microsoft.com/v1.0' && root !== request.serviceRoot))
    throw badRequest(`Invalid object identifier '${text}'.`);
  return m[1]!.toLowerCase();
}

export const ownersRoutes: RouteModule = (ctx) => {
  function find(target: Target, request: GraphRequest): Owned {
    const record = lookup(ctx.state(), target, request.params);
    if (!record || !isVisible(record, request.now)) throw notFound(request.params.appId ?? request.params.id ?? '');
    return record;
  }

  const DIRECTORY_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];
  const manage = (target: Target): Permission => ({
    anyOf: [OWNED_BY, 'Application.ReadWrite.All', 'Directory.ReadWrite.All'],
    alsoAnyOf: DIRECTORY_READ,
    // Missing objects are the handler's 404.
    ownedBy: (request) =>
      lookup(ctx.state(), target, request.params)?.owners.includes(request.caller.servicePrincipalId) ?? true,
  });
  // For applications OwnedBy is not enough: Graph answers 403 Authorization_RequestDenied to an OwnedBy-only caller, owner or not.
  const add = (target: Target): Permission =>
    target.set === 'applications'
      ? { anyOf: ['Application.ReadWrite.All', 'Directory.ReadWrite.All'], alsoAnyOf: DIRECTORY_READ }
      : manage(target);

  return TARGETS.flatMap((target): Route[] => [
    {
      method: 'GET',
      pattern: `${target.pattern}/owners`,
      permission: { anyOf: APP_READ },
      write: false,
      handler: (r) => {
        const owners = find(target, r)
          .owners.map((id) => findDirectoryObject(ctx.state(), id))
          .filter((o): o is NonNullable<typeof o> => !!o && isVisible(o.record, r.now))
          .map((o) => asDirectoryObject(o.kind, o.record.data));
        return collection(r, 'directoryObjects', owners, directoryObjects(owners));
      },
    },
    {
      method: 'POST',
      pattern: `${target.pattern}/owners/$ref`,
      permission: add(target),
      write: true,
      handler: (r) => {
        const record = find(target, r);
        const ownerId = referencedId(r);
        const owner = findDirectoryObject(ctx.state(), ownerId);
        if (!owner || !isVisible(owner.record, r.now)) throw notFound(ownerId);
        if (owner.kind !== 'user' && owner.kind !== 'servicePrincipal')
          throw badRequest(`Invalid object identifier '${ownerId}'.`);
        if (record.owners.includes(ownerId)) {
          throw badRequest(
            "One or more added object references already exist for the following modified properties: 'owners'.",
          );
        }
        record.owners.push(ownerId);
        record.sequence = ctx.state().nextSequence();
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: `${target.pattern}/owners/{ownerId}/$ref`,
      permission: manage(target),
      write: true,
      handler: (r) => {
        const record = find(target, r);
        const ownerId = r.params.ownerId!.toLowerCase();
        if (!record.owners.includes(ownerId)) {
          throw badRequest(
            "One or more removed object references do not exist for the following modified properties: 'owners'.",
          );
        }
        record.owners = record.owners.filter((o) => o !== ownerId);
        record.sequence = ctx.state().nextSequence();
        return { status: 204 };
      },
    },
  ]);
};
