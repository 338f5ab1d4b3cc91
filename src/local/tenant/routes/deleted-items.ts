import type { RouteModule, TenantContext } from '../context';
import { badRequest, type GraphRequest, notFound } from '../http';
import { applySelect, contextUrl, parseSelect } from '../odata';
import type { ApplicationRecord, DeletedRecord, Json, TenantState } from '../state';
import { recordTombstone } from './delta';
import { APPLICATION_CAPABILITIES, APPLICATION_READ, APPLICATION_WRITE, GUID } from './application-schema';

const SOFT_DELETE_RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * /directory/deletedItems for soft-deleted applications and service principals: list the deleted applications,
 * get one, restore it (200 + the object), delete it for good (204). Items older than 30 days are purged when
 * next looked at. https://learn.microsoft.com/graph/api/application-delete and
 * https://learn.microsoft.com/graph/api/directory-deleteditems-restore
 */
export const deletedItemRoutes: RouteModule = (ctx: TenantContext) => {
  const state = () => ctx.state();

  function purgeExpired(now: Date): void {
    const s = state();
    for (const [id, record] of Object.entries(s.data.deletedItems)) {
      const deletedAt = Date.parse(String(record.data.deletedDateTime ?? ''));
      if (deletedAt + SOFT_DELETE_RETENTION_MS <= now.getTime()) purge(s, id, record);
    }
  }

  function purge(s: TenantState, id: string, record: DeletedRecord): void {
    delete s.data.deletedItems[id];
    recordTombstone(s, record.kind, id);
  }

  function deletedItem(request: GraphRequest): DeletedRecord {
    purgeExpired(request.now);
    const id = request.params.id!.toLowerCase();
    if (!GUID.test(id)) throw badRequest(`Invalid object identifier '${request.params.id}'.`);
    const record = state().data.deletedItems[id];
    if (!record) throw notFound(request.params.id!);
    return record;
  }

  const ownsDeleted = (request: GraphRequest): boolean => {
    const record = state().data.deletedItems[String(request.params.id).toLowerCase()];
    return !record || record.owners.includes(request.caller.servicePrincipalId);
  };

  const odataType = (record: DeletedRecord) =>
    record.kind === 'application' ? '#microsoft.graph.application' : '#microsoft.graph.servicePrincipal';

  return [
    {
      method: 'GET',
      pattern: '/directory/deletedItems/microsoft.graph.application',
      permission: { anyOf: APPLICATION_READ },
      write: false,
      handler: (request) => {
        purgeExpired(request.now);
        const select = parseSelect(request.query.get('$select'), APPLICATION_CAPABILITIES);
        const value = Object.values(state().data.deletedItems)
          .filter((record) => record.kind === 'application')
          .map((record) => applySelect(record.data, select));
        return {
          status: 200,
          body: {
            '@odata.context': contextUrl(
              request.serviceRoot,
              'directory/deletedItems/microsoft.graph.application',
              select,
            ),
            value,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: '/directory/deletedItems/{id}',
      permission: { anyOf: APPLICATION_READ },
      write: false,
      handler: (request) => {
        const record = deletedItem(request);
        return {
          status: 200,
          body: {
            '@odata.context': `${request.serviceRoot}/$metadata#directoryObjects/$entity`,
            '@odata.type': odataType(record),
            ...record.data,
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: '/directory/deletedItems/{id}/restore',
      permission: { anyOf: APPLICATION_WRITE, ownedBy: ownsDeleted },
      write: true,
      handler: (request) => {
        const s = state();
        const record = deletedItem(request);
        const id = request.params.id!.toLowerCase();
        const data: Json = { ...record.data, deletedDateTime: null };
        if (record.kind === 'application') {
          if (typeof data.uniqueName === 'string' && s.uniqueNameToApplication.has(data.uniqueName.toLowerCase())) {
            throw badRequest(
              'A conflicting object with one or more of the specified property values is present in the directory.',
            );
          }
          const kept = record as DeletedRecord &
            Partial<
              Pick<
                ApplicationRecord,
                'secretHashes' | 'certificates' | 'credentialsUsableFrom' | 'federatedIdentityCredentials'
              >
            >;
          s.addApplication({
            data,
            visibleFrom: ctx.visibleFrom(),
            sequence: s.nextSequence(),
            owners: record.owners,
            secretHashes: kept.secretHashes ?? {},
            certificates: kept.certificates ?? {},
            credentialsUsableFrom: kept.credentialsUsableFrom ?? {},
            ...(kept.federatedIdentityCredentials
              ? { federatedIdentityCredentials: kept.federatedIdentityCredentials }
              : {}),
          });
        } else {
          if (s.appIdToServicePrincipal.has(String(data.appId).toLowerCase())) {
            throw badRequest(
              'A conflicting object with one or more of the specified property values is present in the directory.',
            );
          }
          s.addServicePrincipal({
            data,
            visibleFrom: ctx.visibleFrom(),
            sequence: s.nextSequence(),
            owners: record.owners,
          });
        }
        delete s.data.deletedItems[id];
        return {
          status: 200,
          body: {
            '@odata.context': `${request.serviceRoot}/$metadata#directoryObjects/$entity`,
            '@odata.type': odataType(record),
            ...data,
          },
        };
      },
    },
    {
      method: 'DELETE',
      pattern: '/directory/deletedItems/{id}',
      permission: { anyOf: APPLICATION_WRITE, ownedBy: ownsDeleted },
      write: true,
      handler: (request) => {
        const record = deletedItem(request);
        purge(state(), request.params.id!.toLowerCase(), record);
        return { status: 204 };
      },
    },
  ];
};
