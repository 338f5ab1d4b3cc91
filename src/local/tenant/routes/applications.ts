/**
 * Graph's application endpoints: create, get/patch/delete by id, appId or uniqueName, upsert by uniqueName,
 * list with the query subset of https://learn.microsoft.com/graph/aad-advanced-queries and $skiptoken paging,
 * $count, addPassword/removePassword, certificates by PATCH keyCredentials. Objects written here become visible
 * to other calls only after the replication delay (a new object answers 404 meanwhile, as in Entra:
 * https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/).
 * The body checks and key addressing are in application-schema.ts, delta in delta.ts, the deleted
 * items in deleted-items.ts. https://learn.microsoft.com/graph/api/resources/application
 */
import { isVisible, type RouteModule } from '../context';
import {
  badRequest,
  type GraphRequest,
  type GraphResponse,
  notFound,
  OWNED_BY,
  type Permission,
  type Route,
} from '../http';
import {
  contextUrl,
  decodeToken,
  encodeToken,
  hasEventualConsistency,
  isPageCursor,
  matchesQuery,
  nextLinkFor,
  pageOf,
  parseListQuery,
  parseSelect,
} from '../odata';
import { expandedOwners, expandedPageSize, ownersExpand } from './directory';
import { type ApplicationRecord, type DeletedRecord, graphTimestamp, type Json, newObjectId } from '../state';
import { checkKeyCredential, checkPasswordCredential, effectivePolicy } from '../app-policies';
import { deltaHandler } from './delta';
import { checkApplicationRules } from './application-rules';
import {
  APPLICATION_CAPABILITIES,
  APPLICATION_READ as READ,
  APPLICATION_WRITE as WRITE,
  applicationDefaults,
  checkKeySyntax,
  checkUniqueness,
  conflict,
  findApplication,
  keyed,
  keyValue,
  merge,
  readBody,
  renderApplication as render,
} from './application-schema';
import { acceptKeyCredentials, addedOrChangedKeys, addPassword, invalidValue, removePassword } from './credentials';

/** addPassword/removePassword also accept Directory.ReadWrite.All (application-addpassword's Permissions table). */
const CREDENTIAL_WRITE = [...WRITE, 'Directory.ReadWrite.All'];

export const applicationRoutes: RouteModule = (ctx) => {
  const state = () => ctx.state();

  /** The addressed application as other calls see it: 404 when missing or still replicating. */
  function visibleApplication(request: GraphRequest): ApplicationRecord {
    checkKeySyntax(request.params);
    const record = findApplication(state(), request.params);
    if (!record || !isVisible(record, request.now)) throw notFound(keyValue(request.params));
    return record;
  }

  /** OwnedBy reaches only owned apps; a missing app lets the handler answer 404. */
  const ownsTarget = (request: GraphRequest): boolean => {
    const record = findApplication(state(), request.params);
    if (!record || !isVisible(record, request.now)) return true;
    return record.owners.includes(request.caller.servicePrincipalId);
  };

  const read: Permission = { anyOf: READ, ownedBy: ownsTarget };
  const write: Permission = { anyOf: WRITE, ownedBy: ownsTarget };

  function entity(request: GraphRequest, record: ApplicationRecord, select?: string[], extra: Json = {}): Json {
    return {
      '@odata.context': contextUrl(request.serviceRoot, 'applications', select, true),
      ...render(record, select),
      ...extra,
    };
  }

  function create(request: GraphRequest, input: Record<string, unknown>): GraphResponse {
    const s = state();
    const id = newObjectId();
    const now = request.now;
    const owners = new Set<string>();
    for (const url of (input['owners@odata.bind'] as string[] | undefined) ?? []) {
      const ownerId = /\/directoryObjects\/([^/]+)$/i.exec(url)?.[1]?.toLowerCase();
      const owner = ownerId ? (s.data.servicePrincipals[ownerId] ?? s.data.users[ownerId]) : undefined;
      if (!ownerId || !owner || !isVisible(owner, now)) throw notFound(ownerId ?? url);
      owners.add(ownerId);
    }
    if (owners.size > 20) throw invalidValue('owners', 'Application');
    // An app-only caller with just Application.ReadWrite.OwnedBy becomes an owner of what it creates.
    if (
      request.caller.roles.has(OWNED_BY) &&
      !request.caller.roles.has('Application.ReadWrite.All') &&
      request.caller.servicePrincipalId
    ) {
      owners.add(request.caller.servicePrincipalId);
    }
    const { 'owners@odata.bind': _bind, passwordCredentials, keyCredentials, ...properties } = input;
    const record: ApplicationRecord = {
      data: {
        id,
        ...merge(applicationDefaults(), properties),
        appId: newObjectId(),
        createdDateTime: graphTimestamp(now),
        publisherDomain: s.data.domain,
      },
      visibleFrom: ctx.visibleFrom(),
      sequence: s.nextSequence(),
      owners: [...owners],
      secretHashes: {},
      certificates: {},
      credentialsUsableFrom: {},
    };
    // Key order as Graph writes it: id, deletedDateTime, appId, …
    record.data = { id, deletedDateTime: null, appId: record.data.appId, ...record.data };
    checkApplicationRules(record.data);
    checkUniqueness(s, id, record.data);
    // A new app has no custom policy yet: the tenant default judges the credentials it is created with (https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy).
    const policy = effectivePolicy(s, undefined);
    if (keyCredentials !== undefined) {
      const accepted = acceptKeyCredentials(keyCredentials, undefined);
      for (const key of accepted.credentials)
        checkKeyCredential(policy, record.data.createdDateTime, String(key.startDateTime), String(key.endDateTime));
      record.data.keyCredentials = accepted.credentials;
      record.certificates = accepted.certificates;
    }
    // Passwords in the create body (application-post-applications): secretText only in this 201.
    const secrets = new Map<string, string>();
    for (const requested of (passwordCredentials as unknown[] | undefined) ?? []) {
      const added = addPassword(record, requested, now, ctx.credentialUsableFrom(), (start, end) =>
        checkPasswordCredential(policy, record.data.createdDateTime, start, end),
      );
      secrets.set(String(added.keyId), String(added.secretText));
    }
    s.addApplication(record);
    const body = entity(request, record);
    if (secrets.size > 0) {
      body.passwordCredentials = (record.data.passwordCredentials as Json[]).map((c) => ({
        ...c,
        secretText: secrets.get(String(c.keyId)) ?? null,
      }));
    }
    return { status: 201, body };
  }

  function update(request: GraphRequest, record: ApplicationRecord, input: Record<string, unknown>): GraphResponse {
    const s = state();
    const id = String(record.data.id);
    if ('uniqueName' in input) {
      const current = record.data.uniqueName;
      // uniqueName is settable only while null (resources/application; wording of the refusal unverified).
      if (
        typeof current === 'string' &&
        (typeof input.uniqueName !== 'string' || input.uniqueName.toLowerCase() !== current.toLowerCase())
      ) {
        throw badRequest("Property 'uniqueName' is immutable once set and cannot be updated.");
      }
    }
    const { keyCredentials, ...properties } = input;
    const data = merge(record.data, properties);
    checkApplicationRules(data);
    checkUniqueness(s, id, data);
    let certificates = record.certificates;
    if (keyCredentials !== undefined) {
      const accepted = acceptKeyCredentials(keyCredentials, record);
      const policy = effectivePolicy(s, id);
      for (const key of addedOrChangedKeys(accepted.credentials, record)) {
        checkKeyCredential(policy, record.data.createdDateTime, String(key.startDateTime), String(key.endDateTime));
      }
      ctx.beforeCredentialWrite();
      data.keyCredentials = accepted.credentials;
      certificates = accepted.certificates;
    }
    if (typeof record.data.uniqueName !== 'string' && typeof data.uniqueName === 'string')
      s.uniqueNameToApplication.set(data.uniqueName.toLowerCase(), id);
    record.data = data;
    record.certificates = certificates;
    record.sequence = s.nextSequence();
    return { status: 204 };
  }

  function softDelete(request: GraphRequest, record: ApplicationRecord): void {
    const s = state();
    const id = String(record.data.id);
    s.removeApplication(id);
    // A soft-deleted application keeps everything it had, its federated identity credentials included, for a restore
    // within 30 days (https://learn.microsoft.com/entra/identity/enterprise-apps/delete-recover-faq).
    const deleted: DeletedRecord &
      Pick<
        ApplicationRecord,
        'secretHashes' | 'certificates' | 'credentialsUsableFrom' | 'federatedIdentityCredentials'
      > = {
      kind: 'application',
      data: { ...record.data, deletedDateTime: graphTimestamp(request.now) },
      visibleFrom: record.visibleFrom,
      sequence: s.nextSequence(),
      owners: record.owners,
      secretHashes: record.secretHashes,
      certificates: record.certificates,
      credentialsUsableFrom: record.credentialsUsableFrom,
      ...(record.federatedIdentityCredentials
        ? { federatedIdentityCredentials: record.federatedIdentityCredentials }
        : {}),
    };
    s.data.deletedItems[id] = deleted;
  }

  function list(request: GraphRequest): GraphResponse {
    const s = state();
    const query = parseListQuery(request, APPLICATION_CAPABILITIES);
    const expand = ownersExpand(request, 'microsoft.graph.application');
    if (query.select?.includes('keyCredentials')) ctx.beforeKeyCredentialsList(request.now);
    const include = (record: ApplicationRecord) => isVisible(record, request.now) && matchesQuery(query, record.data);
    let ids = s.orderedApplicationIds();
    if (query.orderBy) {
      const { property, descending } = query.orderBy;
      const key = (id: string) => String(s.data.applications[id]?.data[property] ?? '').toLowerCase();
      ids = [...ids].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (descending ? -1 : 1));
    }
    const cursor = query.skiptoken === undefined ? undefined : decodeToken(query.skiptoken, isPageCursor);
    const lookup = (id: string) => s.data.applications[id];
    const page = pageOf(ids, lookup, include, cursor, expand === undefined ? query.top : expandedPageSize(query.top));
    const body: Json = { '@odata.context': contextUrl(request.serviceRoot, 'applications', query.select) };
    if (query.count && cursor === undefined) {
      let count = 0;
      for (const id of ids) if (include(s.data.applications[id]!)) count += 1;
      body['@odata.count'] = count;
    }
    if (page.next)
      body['@odata.nextLink'] = nextLinkFor(
        request.serviceRoot,
        '/applications',
        request.query,
        encodeToken(page.next),
      );
    // $expand=owners (https://learn.microsoft.com/graph/api/application-list): each application with its owners as directoryObjects, ids and types only, at most 20.
    body.value = page.items.map((record) =>
      expand === undefined
        ? render(record, query.select)
        : { ...render(record, query.select), owners: expandedOwners(s, record.owners) },
    );
    return { status: 200, body };
  }

  function count(request: GraphRequest): GraphResponse {
    if (!hasEventualConsistency(request)) throw badRequest('$count is not currently supported.');
    const query = parseListQuery(request, APPLICATION_CAPABILITIES);
    let n = 0;
    for (const record of Object.values(state().data.applications))
      if (isVisible(record, request.now) && matchesQuery(query, record.data)) n += 1;
    return { status: 200, text: String(n) };
  }

  const delta = deltaHandler(ctx, {
    set: 'applications',
    capabilities: APPLICATION_CAPABILITIES,
    records: (s) => Object.values(s.data.applications),
    render,
    deletedKind: 'application',
  });

  const routes: Route[] = [
    { method: 'GET', pattern: '/applications', permission: { anyOf: READ }, write: false, handler: list },
    {
      method: 'POST',
      pattern: '/applications',
      permission: { anyOf: WRITE },
      write: true,
      handler: (request) => create(request, readBody(request.body, 'create')),
    },
    { method: 'GET', pattern: '/applications/$count', permission: { anyOf: READ }, write: false, handler: count },
    { method: 'GET', pattern: '/applications/delta', permission: { anyOf: READ }, write: false, handler: delta },
    { method: 'GET', pattern: '/applications/delta()', permission: { anyOf: READ }, write: false, handler: delta },
  ];

  for (const pattern of keyed()) {
    routes.push({
      method: 'GET',
      pattern,
      permission: read,
      write: false,
      handler: (request) => {
        const select = parseSelect(request.query.get('$select'), APPLICATION_CAPABILITIES);
        return { status: 200, body: entity(request, visibleApplication(request), select) };
      },
    });
    routes.push({
      method: 'DELETE',
      pattern,
      permission: write,
      write: true,
      handler: (request) => {
        softDelete(request, visibleApplication(request));
        return { status: 204 };
      },
    });
  }
  for (const pattern of keyed().slice(0, 2)) {
    routes.push({
      method: 'PATCH',
      pattern,
      permission: write,
      write: true,
      handler: (request) => {
        const input = readBody(request.body, 'update');
        return update(request, visibleApplication(request), input);
      },
    });
  }
  routes.push({
    method: 'PATCH',
    pattern: "/applications(uniqueName='{uniqueName}')",
    permission: write,
    write: true,
    handler: (request) => {
      // Upsert (https://learn.microsoft.com/graph/api/application-upsert): 201 when missing with Prefer: create-if-missing, 404 without it, 204 when it exists.
      const uniqueName = request.params.uniqueName!;
      const existing = findApplication(state(), request.params);
      const createIfMissing = /(^|[,;\s])create-if-missing($|[,;\s])/i.test(String(request.headers.prefer ?? ''));
      if (existing && isVisible(existing, request.now))
        return update(request, existing, readBody(request.body, 'update'));
      if (existing) throw conflict('uniqueName', String(existing.data.id)); // still replicating: the write clashes
      if (!createIfMissing) throw notFound(uniqueName);
      const input = readBody(request.body, 'create');
      if (typeof input.uniqueName === 'string' && input.uniqueName.toLowerCase() !== uniqueName.toLowerCase())
        throw invalidValue('uniqueName', 'Application');
      return create(request, { ...input, uniqueName });
    },
  });
  for (const pattern of keyed('/addPassword').slice(0, 2)) {
    routes.push({
      method: 'POST',
      pattern,
      permission: { anyOf: CREDENTIAL_WRITE, ownedBy: ownsTarget },
      write: true,
      handler: (request) => {
        const record = visibleApplication(request);
        const body = request.body as { passwordCredential?: unknown } | undefined;
        if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body)))
          throw invalidValue('passwordCredential', 'Application');
        const policy = effectivePolicy(state(), String(record.data.id));
        const credential = addPassword(
          record,
          body?.passwordCredential,
          request.now,
          ctx.credentialUsableFrom(),
          (start, end) => {
            checkPasswordCredential(policy, record.data.createdDateTime, start, end);
            ctx.beforeCredentialWrite();
          },
        );
        record.sequence = state().nextSequence();
        return {
          status: 200,
          body: {
            '@odata.context': `${request.serviceRoot}/$metadata#microsoft.graph.passwordCredential`,
            ...credential,
          },
        };
      },
    });
  }
  for (const pattern of keyed('/removePassword').slice(0, 2)) {
    routes.push({
      method: 'POST',
      pattern,
      permission: { anyOf: CREDENTIAL_WRITE, ownedBy: ownsTarget },
      write: true,
      handler: (request) => {
        const record = visibleApplication(request);
        removePassword(record, request.body, () => ctx.beforeCredentialWrite());
        record.sequence = state().nextSequence();
        return { status: 204 };
      },
    });
  }
  return routes;
};
