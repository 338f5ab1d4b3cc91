/**
 * Graph's application endpoints (spec §5, §6): create, get/patch/delete by id, appId or uniqueName, upsert by
 * uniqueName, list with the §4.3 query subset and $skiptoken paging, $count, delta, addPassword/removePassword,
 * certificates by PATCH keyCredentials; and the deleted-items endpoints for soft-deleted objects (§5.7).
 * Objects written here become visible to other calls only after the replication delay (§13).
 */
import { isVisible, type RouteModule, type TenantContext } from '../context';
import { badRequest, GraphError, type GraphRequest, type GraphResponse, notFound, OWNED_BY, type Permission, type Route, unsupportedQuery } from '../http';
import {
  applySelect,
  type CollectionCapabilities,
  contextUrl,
  decodeToken,
  encodeToken,
  hasEventualConsistency,
  isPageCursor,
  matchesFilter,
  matchesQuery,
  nextLinkFor,
  pageOf,
  parseFilter,
  checkFilter,
  parseListQuery,
  parseSelect,
} from '../odata';
import { type ApplicationRecord, type DeletedRecord, graphTimestamp, type Json, newObjectId, type TenantState } from '../state';
import { checkKeyCredential, checkPasswordCredential, effectivePolicy } from '../app-policies';
import { acceptKeyCredentials, addedOrChangedKeys, addPassword, invalidValue, removePassword, withKeys } from './credentials';

const READ = ['Application.Read.All', 'Application.ReadWrite.All', OWNED_BY, 'Directory.Read.All', 'Directory.ReadWrite.All'];
const WRITE = ['Application.ReadWrite.All', OWNED_BY];
/** addPassword/removePassword also accept Directory.ReadWrite.All (spec §3). */
const CREDENTIAL_WRITE = [...WRITE, 'Directory.ReadWrite.All'];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DELTA_PAGE_SIZE = 100;
const SOFT_DELETE_RETENTION_MS = 30 * 24 * 3600 * 1000;

type Kind = 'string' | 'boolean' | 'strings' | 'objects' | 'object';

/** Properties of microsoft.graph.application (graph-openapi-subset.yaml) and their JSON shapes. */
const PROPERTIES: Record<string, Kind> = {
  id: 'string',
  deletedDateTime: 'string',
  appId: 'string',
  applicationTemplateId: 'string',
  createdByAppId: 'string',
  createdDateTime: 'string',
  defaultRedirectUri: 'string',
  description: 'string',
  disabledByMicrosoftStatus: 'string',
  displayName: 'string',
  groupMembershipClaims: 'string',
  logo: 'string',
  nativeAuthenticationApisEnabled: 'string',
  notes: 'string',
  publisherDomain: 'string',
  samlMetadataUrl: 'string',
  serviceManagementReference: 'string',
  signInAudience: 'string',
  tokenEncryptionKeyId: 'string',
  uniqueName: 'string',
  isDeviceOnlyAuthSupported: 'boolean',
  isDisabled: 'boolean',
  isFallbackPublicClient: 'boolean',
  oauth2RequirePostResponse: 'boolean',
  identifierUris: 'strings',
  managerApplications: 'strings',
  tags: 'strings',
  addIns: 'objects',
  appRoles: 'objects',
  keyCredentials: 'objects',
  passwordCredentials: 'objects',
  requiredResourceAccess: 'objects',
  api: 'object',
  authenticationBehaviors: 'object',
  certification: 'object',
  info: 'object',
  optionalClaims: 'object',
  parentalControlSettings: 'object',
  publicClient: 'object',
  requestSignatureVerification: 'object',
  servicePrincipalLockConfiguration: 'object',
  spa: 'object',
  verifiedPublisher: 'object',
  web: 'object',
};
/** Spec §18: read-only properties in a body ⇒ 400. */
const READ_ONLY = new Set(['id', 'appId', 'publisherDomain', 'createdDateTime', 'deletedDateTime']);
const SIGN_IN_AUDIENCES = ['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount'];

/** Spec §4.3: what $filter supports on applications, by default and with ConsistencyLevel: eventual + $count=true. */
export const APPLICATION_CAPABILITIES: CollectionCapabilities = {
  resource: 'Application',
  entityType: 'microsoft.graph.application',
  selectable: new Set(Object.keys(PROPERTIES)),
  orderable: ['createdDateTime', 'deletedDateTime', 'displayName'],
  searchable: ['displayName', 'description', 'tags'],
  filter: {
    id: { byDefault: ['eq', 'in'], advanced: ['ne', 'not'] },
    appId: { byDefault: ['eq', 'in'], advanced: ['ne', 'not'] },
    displayName: { byDefault: ['eq', 'in', 'startsWith'], advanced: ['ne', 'not', 'eqNull', 'endsWith'] },
    uniqueName: { byDefault: ['eq', 'startsWith'], advanced: ['ne', 'not', 'eqNull'] },
    signInAudience: { byDefault: ['eq'], advanced: ['ne', 'not'] },
    publisherDomain: { byDefault: ['eq', 'startsWith'], advanced: ['ne', 'not'] },
    'identifierUris/any': { byDefault: ['eq', 'startsWith'], advanced: ['ne', 'not'] },
    'tags/any': { byDefault: ['eq', 'startsWith'], advanced: ['ne', 'not'] },
    createdDateTime: { byDefault: ['ge', 'le'], advanced: ['eqNull'] },
    disabledByMicrosoftStatus: { byDefault: ['eq'], advanced: ['ne', 'not'] },
    description: { advanced: ['eq', 'startsWith', 'eqNull', 'ne', 'not'] },
    notes: { advanced: ['eq', 'startsWith', 'eqNull'] },
    serviceManagementReference: { advanced: ['eq', 'startsWith', 'eqNull'] },
    'info/termsOfServiceUrl': { advanced: ['eq', 'startsWith', 'eqNull'] },
    'web/homePageUrl': { advanced: ['eq', 'startsWith', 'eqNull'] },
    'web/redirectUris/any': { advanced: ['eq', 'startsWith'] },
    'spa/redirectUris/any': { advanced: ['eq', 'startsWith'] },
    'publicClient/redirectUris/any': { advanced: ['eq', 'startsWith'] },
    'requiredResourceAccess/any/resourceAppId': { advanced: ['eq'] },
    'verifiedPublisher/displayName': { advanced: ['eq', 'startsWith', 'eqNull'] },
  },
};

/** Delta supports only $filter=id eq '…' [or id eq '…'] (spec §5.6). */
const DELTA_CAPABILITIES: CollectionCapabilities = { ...APPLICATION_CAPABILITIES, filter: { id: { byDefault: ['eq'] } } };

/** What a fresh application looks like (spec §4.2); the seed builds its applications on it too. */
export function applicationDefaults(): Json {
  return {
    deletedDateTime: null,
    applicationTemplateId: null,
    createdDateTime: null,
    description: null,
    disabledByMicrosoftStatus: null,
    displayName: null,
    groupMembershipClaims: null,
    identifierUris: [],
    isDeviceOnlyAuthSupported: null,
    isFallbackPublicClient: null,
    notes: null,
    publisherDomain: null,
    serviceManagementReference: null,
    signInAudience: 'AzureADMyOrg',
    tags: [],
    tokenEncryptionKeyId: null,
    uniqueName: null,
    addIns: [],
    api: { acceptMappedClaims: null, knownClientApplications: [], requestedAccessTokenVersion: null, oauth2PermissionScopes: [], preAuthorizedApplications: [] },
    appRoles: [],
    info: { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
    keyCredentials: [],
    optionalClaims: null,
    parentalControlSettings: { countriesBlockedForMinors: [], legalAgeGroupRule: 'Allow' },
    passwordCredentials: [],
    publicClient: { redirectUris: [] },
    requiredResourceAccess: [],
    spa: { redirectUris: [] },
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
    web: {
      homePageUrl: null,
      logoutUrl: null,
      redirectUris: [],
      redirectUriSettings: [],
      implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Body validation

/**
 * Rejects what Graph's OData reader rejects before the directory sees the body: unknown properties and
 * values of the wrong JSON shape. Codes and wording follow the OData reader's messages as Graph's directory
 * relays them (Request_BadRequest); the exact text for application bodies is unverified.
 */
function readBody(body: unknown, mode: 'create' | 'update'): Record<string, unknown> {
  if (body === undefined && mode === 'update') return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
  const input = body as Record<string, unknown>;
  for (const [name, value] of Object.entries(input)) {
    if (name === '@odata.type') {
      if (value !== '#microsoft.graph.application') throw badRequest(`A type named '${String(value)}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`);
      continue;
    }
    if (name === 'owners@odata.bind' && mode === 'create') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest("An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartArray' node was expected.");
      continue;
    }
    const kind = PROPERTIES[name];
    if (!kind) {
      throw badRequest(
        `The property '${name}' does not exist on type 'Microsoft.DirectoryServices.Application'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
    if (READ_ONLY.has(name) || (name === 'passwordCredentials' && mode === 'update')) {
      // Spec §18: read-only properties and passwordCredentials by PATCH ⇒ 400 (wording unverified).
      throw badRequest(`Property '${name}' is read-only and cannot be set.`);
    }
    checkShape(name, kind, value);
  }
  validateValues(input, mode);
  return input;
}

function checkShape(name: string, kind: Kind, value: unknown): void {
  const edm = kind === 'boolean' ? 'Edm.Boolean' : 'Edm.String';
  const node = (v: unknown) => (Array.isArray(v) ? 'StartArray' : typeof v === 'object' && v !== null ? 'StartObject' : 'PrimitiveValue');
  const unexpected = (expected: string) =>
    badRequest(`An unexpected '${node(value)}' node was found when reading from the JSON reader. A '${expected}' node was expected.`);
  switch (kind) {
    case 'string':
    case 'boolean':
      if (value === null) return;
      if (typeof value === 'object') throw unexpected('PrimitiveValue');
      if (typeof value !== (kind === 'boolean' ? 'boolean' : 'string')) {
        throw badRequest(`Cannot convert a primitive value to the expected type '${edm}'. See the inner exception for more details.`);
      }
      return;
    case 'strings':
      if (!Array.isArray(value)) throw unexpected('StartArray');
      if (value.some((v) => typeof v !== 'string')) throw badRequest("Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details.");
      return;
    case 'objects':
      if (!Array.isArray(value)) throw unexpected('StartArray');
      if (value.some((v) => typeof v !== 'object' || v === null || Array.isArray(v))) throw badRequest("An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.");
      return;
    case 'object':
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw unexpected('StartObject');
      return;
  }
}

/** The directory's own checks (spec §4.1): displayName required on create and ≤256, audiences, description ≤1024. */
function validateValues(input: Record<string, unknown>, mode: 'create' | 'update'): void {
  if (mode === 'create' || 'displayName' in input) {
    const name = input.displayName;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 256) throw invalidValue('displayName', 'Application');
  }
  if ('signInAudience' in input && !SIGN_IN_AUDIENCES.includes(String(input.signInAudience))) throw invalidValue('signInAudience', 'Application');
  if (typeof input.description === 'string' && input.description.length > 1024) throw invalidValue('description', 'Application');
  if ('uniqueName' in input && input.uniqueName !== null && (typeof input.uniqueName !== 'string' || input.uniqueName.trim() === '')) {
    throw invalidValue('uniqueName', 'Application');
  }
}

/** Complex properties merge on PATCH; collections and primitives are replaced (spec §5.4). */
function merge(target: Json, patch: Record<string, unknown>): Json {
  const result: Json = { ...target };
  for (const [name, value] of Object.entries(patch)) {
    const current = result[name];
    const isPlain = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
    result[name] = isPlain(value) && isPlain(current) ? merge(current, value) : value;
  }
  return result;
}

/** Spec §12: "Another object with the same value for property {prop} already exists." with its details. */
function conflict(property: string, other: string): GraphError {
  const message = `Another object with the same value for property ${property} already exists.`;
  return badRequest(message, [
    { code: 'ObjectConflict', message, target: property },
    { code: 'ConflictingObjects', message, target: `Application_${other}` },
  ]);
}

function checkUniqueness(state: TenantState, id: string, data: Json): void {
  if (typeof data.uniqueName === 'string') {
    const other = state.uniqueNameToApplication.get(data.uniqueName.toLowerCase());
    if (other && other !== id) throw conflict('uniqueName', other);
  }
  const uris = ((data.identifierUris as string[] | undefined) ?? []).map((u) => u.toLowerCase());
  if (uris.length > 0) {
    for (const [otherId, other] of Object.entries(state.data.applications)) {
      if (otherId === id) continue;
      if (((other.data.identifierUris as string[] | undefined) ?? []).some((u) => uris.includes(u.toLowerCase()))) throw conflict('identifierUris', otherId);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Routes

/** The three ways Graph addresses one application (spec §5.3). */
function keyed(suffix = ''): string[] {
  return [`/applications/{id}${suffix}`, `/applications(appId='{appId}')${suffix}`, `/applications(uniqueName='{uniqueName}')${suffix}`];
}

function keyValue(params: Record<string, string>): string {
  return params.id ?? params.appId ?? params.uniqueName ?? '';
}

/** The application a request addresses, visible or not, or undefined. */
function findApplication(state: TenantState, params: Record<string, string>): ApplicationRecord | undefined {
  let id: string | undefined;
  if (params.id !== undefined) id = params.id.toLowerCase();
  else if (params.appId !== undefined) id = state.appIdToApplication.get(params.appId.toLowerCase());
  else if (params.uniqueName !== undefined) id = state.uniqueNameToApplication.get(params.uniqueName.toLowerCase());
  return id === undefined ? undefined : state.data.applications[id];
}

/** Graph's 400 for a malformed key (spec: ids are GUIDs); then 404 for a missing or not yet replicated one. */
function checkKeySyntax(params: Record<string, string>): void {
  if (params.id !== undefined && !GUID.test(params.id)) throw badRequest(`Invalid object identifier '${params.id}'.`);
  if (params.appId !== undefined && !GUID.test(params.appId)) {
    throw badRequest("Invalid value specified for object reference property 'appId'. Please ensure that this value has an appropriate syntax and length.");
  }
}

function deltaTokenValid(value: unknown): value is DeltaToken {
  return typeof value === 'object' && value !== null && typeof (value as DeltaToken).upTo === 'number';
}

interface DeltaToken {
  /** Changes after this sequence; null = initial sync (everything present). */
  since: number | null;
  /** Changes up to this sequence (the tenant's sequence when the round started). */
  upTo: number;
  /** The last (sequence, id) returned. */
  after?: [number, string];
  select?: string[];
  filter?: string;
}

/** Permanently deleted applications, for delta's @removed "deleted" (kept in memory, not saved). */
const tombstones = new WeakMap<TenantState, Array<{ id: string; sequence: number }>>();

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

  function render(record: ApplicationRecord, select: readonly string[] | undefined): Json {
    if (!select) return record.data;
    const selected = applySelect(record.data, select);
    if (select.includes('keyCredentials')) selected.keyCredentials = withKeys(record);
    return selected;
  }

  function entity(request: GraphRequest, record: ApplicationRecord, select?: string[], extra: Json = {}): Json {
    return { '@odata.context': contextUrl(request.serviceRoot, 'applications', select, true), ...render(record, select), ...extra };
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
    if (request.caller.roles.has(OWNED_BY) && !request.caller.roles.has('Application.ReadWrite.All') && request.caller.servicePrincipalId) {
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
    checkUniqueness(s, id, record.data);
    // A new app has no custom policy yet: the tenant default judges the credentials it is created with (spec §11).
    const policy = effectivePolicy(s, undefined);
    if (keyCredentials !== undefined) {
      const accepted = acceptKeyCredentials(keyCredentials, undefined);
      for (const key of accepted.credentials) checkKeyCredential(policy, record.data.createdDateTime, String(key.startDateTime), String(key.endDateTime));
      record.data.keyCredentials = accepted.credentials;
      record.certificates = accepted.certificates;
    }
    // Passwords in the create body (spec §5.1): secretText only in this 201.
    const secrets = new Map<string, string>();
    for (const requested of (passwordCredentials as unknown[] | undefined) ?? []) {
      const added = addPassword(record, requested, now, ctx.credentialUsableFrom(), (start, end) => checkPasswordCredential(policy, record.data.createdDateTime, start, end));
      secrets.set(String(added.keyId), String(added.secretText));
    }
    s.addApplication(record);
    const body = entity(request, record);
    if (secrets.size > 0) {
      body.passwordCredentials = (record.data.passwordCredentials as Json[]).map((c) => ({ ...c, secretText: secrets.get(String(c.keyId)) ?? null }));
    }
    return { status: 201, body };
  }

  function update(request: GraphRequest, record: ApplicationRecord, input: Record<string, unknown>): GraphResponse {
    const s = state();
    const id = String(record.data.id);
    if ('uniqueName' in input) {
      const current = record.data.uniqueName;
      // Spec §4.1/§5.4: settable only while null (wording of the refusal unverified).
      if (typeof current === 'string' && (typeof input.uniqueName !== 'string' || input.uniqueName.toLowerCase() !== current.toLowerCase())) {
        throw badRequest("Property 'uniqueName' is immutable once set and cannot be updated.");
      }
    }
    const { keyCredentials, ...properties } = input;
    const data = merge(record.data, properties);
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
    if (typeof record.data.uniqueName !== 'string' && typeof data.uniqueName === 'string') s.uniqueNameToApplication.set(data.uniqueName.toLowerCase(), id);
    record.data = data;
    record.certificates = certificates;
    record.sequence = s.nextSequence();
    return { status: 204 };
  }

  function softDelete(request: GraphRequest, record: ApplicationRecord): void {
    const s = state();
    const id = String(record.data.id);
    s.removeApplication(id);
    const deleted: DeletedRecord & Pick<ApplicationRecord, 'secretHashes' | 'certificates' | 'credentialsUsableFrom'> = {
      kind: 'application',
      data: { ...record.data, deletedDateTime: graphTimestamp(request.now) },
      visibleFrom: record.visibleFrom,
      sequence: s.nextSequence(),
      owners: record.owners,
      secretHashes: record.secretHashes,
      certificates: record.certificates,
      credentialsUsableFrom: record.credentialsUsableFrom,
    };
    s.data.deletedItems[id] = deleted;
  }

  function list(request: GraphRequest): GraphResponse {
    const s = state();
    const query = parseListQuery(request, APPLICATION_CAPABILITIES);
    const include = (record: ApplicationRecord) => isVisible(record, request.now) && matchesQuery(query, record.data);
    let ids = s.orderedApplicationIds();
    if (query.orderBy) {
      const { property, descending } = query.orderBy;
      const key = (id: string) => String(s.data.applications[id]?.data[property] ?? '').toLowerCase();
      ids = [...ids].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (descending ? -1 : 1));
    }
    const cursor = query.skiptoken === undefined ? undefined : decodeToken(query.skiptoken, isPageCursor);
    const lookup = (id: string) => s.data.applications[id];
    const page = pageOf(ids, lookup, include, cursor, query.top);
    const body: Json = { '@odata.context': contextUrl(request.serviceRoot, 'applications', query.select) };
    if (query.count && cursor === undefined) {
      let count = 0;
      for (const id of ids) if (include(s.data.applications[id]!)) count += 1;
      body['@odata.count'] = count;
    }
    if (page.next) body['@odata.nextLink'] = nextLinkFor(request.serviceRoot, '/applications', request.query, encodeToken(page.next));
    const expand = request.query.get('$expand');
    if (expand !== null && !/^owners(\(\$select=id\))?$/.test(expand.replace(/\s+/g, ''))) {
      throw unsupportedQuery(`Parsing OData Select and Expand failed: Could not find a property named '${expand.split('(')[0]}' on type 'microsoft.graph.application'.`);
    }
    // $expand=owners (spec §5.2): each application with its owners as directoryObjects, ids and types only.
    const owners = (record: ApplicationRecord) =>
      record.owners.map((id) => ({ '@odata.type': s.data.users[id] ? '#microsoft.graph.user' : '#microsoft.graph.servicePrincipal', id }));
    body.value = page.items.map((record) => (expand === null ? render(record, query.select) : { ...render(record, query.select), owners: owners(record) }));
    return { status: 200, body };
  }

  function count(request: GraphRequest): GraphResponse {
    if (!hasEventualConsistency(request)) throw badRequest('$count is not currently supported.');
    const query = parseListQuery(request, APPLICATION_CAPABILITIES);
    let n = 0;
    for (const record of Object.values(state().data.applications)) if (isVisible(record, request.now) && matchesQuery(query, record.data)) n += 1;
    return { status: 200, text: String(n) };
  }

  function delta(request: GraphRequest): GraphResponse {
    const s = state();
    // A seed may stamp records with sequences the tenant counter has not reached; rounds must start above them.
    for (const record of [...Object.values(s.data.applications), ...Object.values(s.data.deletedItems)]) {
      if (record.sequence > s.data.sequence) s.data.sequence = record.sequence;
    }
    const q = request.query;
    let token: DeltaToken;
    const deltaToken = q.get('$deltatoken');
    const skipToken = q.get('$skiptoken');
    if (deltaToken !== null && deltaToken.toLowerCase() === 'latest') {
      const select = parseSelect(q.get('$select'), APPLICATION_CAPABILITIES);
      const next: DeltaToken = { since: s.data.sequence, upTo: s.data.sequence, select, filter: q.get('$filter') ?? undefined };
      return {
        status: 200,
        body: {
          '@odata.context': contextUrl(request.serviceRoot, 'applications', select),
          '@odata.deltaLink': `${request.serviceRoot}/applications/delta?$deltatoken=${encodeToken(next)}`,
          value: [],
        },
      };
    } else if (deltaToken !== null) {
      const previous = decodeToken(deltaToken, deltaTokenValid);
      token = { since: previous.upTo, upTo: s.data.sequence, select: previous.select, filter: previous.filter };
    } else if (skipToken !== null) {
      token = decodeToken(skipToken, deltaTokenValid);
    } else {
      const select = parseSelect(q.get('$select'), APPLICATION_CAPABILITIES);
      const filterText = q.get('$filter') ?? undefined;
      token = { since: null, upTo: s.data.sequence, select, filter: filterText };
    }
    const filter = token.filter ? parseFilter(token.filter) : undefined;
    if (filter) checkFilter(filter, DELTA_CAPABILITIES, false);
    const since = token.since;
    const inRound = (sequence: number) => sequence <= token.upTo && (since === null || sequence > since);
    const wanted = (object: Json) => !filter || matchesFilter(filter, object);

    const changes: Array<{ sequence: number; id: string; item: Json }> = [];
    for (const record of Object.values(s.data.applications)) {
      if (!inRound(record.sequence) || !isVisible(record, request.now) || !wanted(record.data)) continue;
      const selected = render(record, token.select);
      changes.push({ sequence: record.sequence, id: String(record.data.id), item: { id: record.data.id, ...selected } });
    }
    if (since !== null) {
      for (const [id, record] of Object.entries(s.data.deletedItems)) {
        if (record.kind === 'application' && inRound(record.sequence) && wanted({ id })) {
          changes.push({ sequence: record.sequence, id, item: { id, '@removed': { reason: 'changed' } } });
        }
      }
      for (const gone of tombstones.get(s) ?? []) {
        if (inRound(gone.sequence) && wanted({ id: gone.id })) changes.push({ sequence: gone.sequence, id: gone.id, item: { id: gone.id, '@removed': { reason: 'deleted' } } });
      }
    }
    const order = (a: { sequence: number; id: string }, b: { sequence: number; id: string }) => a.sequence - b.sequence || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    changes.sort(order);
    const after = token.after;
    const remaining = after ? changes.filter((c) => order(c, { sequence: after[0], id: after[1] }) > 0) : changes;
    const page = remaining.slice(0, DELTA_PAGE_SIZE);
    const body: Json = { '@odata.context': contextUrl(request.serviceRoot, 'applications', token.select) };
    if (remaining.length > page.length) {
      const last = page[page.length - 1]!;
      body['@odata.nextLink'] = `${request.serviceRoot}/applications/delta?$skiptoken=${encodeToken({ ...token, after: [last.sequence, last.id] })}`;
    } else {
      const next: DeltaToken = { since: token.upTo, upTo: token.upTo, select: token.select, filter: token.filter };
      body['@odata.deltaLink'] = `${request.serviceRoot}/applications/delta?$deltatoken=${encodeToken(next)}`;
    }
    body.value = page.map((c) => c.item);
    return { status: 200, body };
  }

  const routes: Route[] = [
    { method: 'GET', pattern: '/applications', permission: { anyOf: READ }, write: false, handler: list },
    { method: 'POST', pattern: '/applications', permission: { anyOf: WRITE }, write: true, handler: (request) => create(request, readBody(request.body, 'create')) },
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
      // Upsert (spec §5.5): 201 when missing with Prefer: create-if-missing, 404 without it, 204 when it exists.
      const uniqueName = request.params.uniqueName!;
      const existing = findApplication(state(), request.params);
      const createIfMissing = /(^|[,;\s])create-if-missing($|[,;\s])/i.test(String(request.headers.prefer ?? ''));
      if (existing && isVisible(existing, request.now)) return update(request, existing, readBody(request.body, 'update'));
      if (existing) throw conflict('uniqueName', String(existing.data.id)); // still replicating: the write clashes
      if (!createIfMissing) throw notFound(uniqueName);
      const input = readBody(request.body, 'create');
      if (typeof input.uniqueName === 'string' && input.uniqueName.toLowerCase() !== uniqueName.toLowerCase()) throw invalidValue('uniqueName', 'Application');
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
        if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw invalidValue('passwordCredential', 'Application');
        const policy = effectivePolicy(state(), String(record.data.id));
        const credential = addPassword(record, body?.passwordCredential, request.now, ctx.credentialUsableFrom(), (start, end) => {
          checkPasswordCredential(policy, record.data.createdDateTime, start, end);
          ctx.beforeCredentialWrite();
        });
        record.sequence = state().nextSequence();
        return { status: 200, body: { '@odata.context': `${request.serviceRoot}/$metadata#microsoft.graph.passwordCredential`, ...credential } };
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

/**
 * /directory/deletedItems for soft-deleted applications and service principals (spec §5.7): list the deleted
 * applications, get one, restore it (200 + the object), delete it for good (204). Items older than 30 days
 * are purged when next looked at.
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
    if (record.kind === 'application') {
      const list = tombstones.get(s) ?? [];
      list.push({ id, sequence: s.nextSequence() });
      tombstones.set(s, list);
    }
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

  const odataType = (record: DeletedRecord) => (record.kind === 'application' ? '#microsoft.graph.application' : '#microsoft.graph.servicePrincipal');

  return [
    {
      method: 'GET',
      pattern: '/directory/deletedItems/microsoft.graph.application',
      permission: { anyOf: READ },
      write: false,
      handler: (request) => {
        purgeExpired(request.now);
        const select = parseSelect(request.query.get('$select'), APPLICATION_CAPABILITIES);
        const value = Object.values(state().data.deletedItems)
          .filter((record) => record.kind === 'application')
          .map((record) => applySelect(record.data, select));
        return { status: 200, body: { '@odata.context': contextUrl(request.serviceRoot, 'directory/deletedItems/microsoft.graph.application', select), value } };
      },
    },
    {
      method: 'GET',
      pattern: '/directory/deletedItems/{id}',
      permission: { anyOf: READ },
      write: false,
      handler: (request) => {
        const record = deletedItem(request);
        return { status: 200, body: { '@odata.context': `${request.serviceRoot}/$metadata#directoryObjects/$entity`, '@odata.type': odataType(record), ...record.data } };
      },
    },
    {
      method: 'POST',
      pattern: '/directory/deletedItems/{id}/restore',
      permission: { anyOf: WRITE, ownedBy: ownsDeleted },
      write: true,
      handler: (request) => {
        const s = state();
        const record = deletedItem(request);
        const id = request.params.id!.toLowerCase();
        const data: Json = { ...record.data, deletedDateTime: null };
        if (record.kind === 'application') {
          if (typeof data.uniqueName === 'string' && s.uniqueNameToApplication.has(data.uniqueName.toLowerCase())) {
            throw badRequest('A conflicting object with one or more of the specified property values is present in the directory.');
          }
          const kept = record as DeletedRecord & Partial<Pick<ApplicationRecord, 'secretHashes' | 'certificates' | 'credentialsUsableFrom'>>;
          s.addApplication({
            data,
            visibleFrom: ctx.visibleFrom(),
            sequence: s.nextSequence(),
            owners: record.owners,
            secretHashes: kept.secretHashes ?? {},
            certificates: kept.certificates ?? {},
            credentialsUsableFrom: kept.credentialsUsableFrom ?? {},
          });
        } else {
          if (s.appIdToServicePrincipal.has(String(data.appId).toLowerCase())) {
            throw badRequest('A conflicting object with one or more of the specified property values is present in the directory.');
          }
          s.addServicePrincipal({ data, visibleFrom: ctx.visibleFrom(), sequence: s.nextSequence(), owners: record.owners });
        }
        delete s.data.deletedItems[id];
        return { status: 200, body: { '@odata.context': `${request.serviceRoot}/$metadata#directoryObjects/$entity`, '@odata.type': odataType(record), ...data } };
      },
    },
    {
      method: 'DELETE',
      pattern: '/directory/deletedItems/{id}',
      permission: { anyOf: WRITE, ownedBy: ownsDeleted },
      write: true,
      handler: (request) => {
        const record = deletedItem(request);
        purge(state(), request.params.id!.toLowerCase(), record);
        return { status: 204 };
      },
    },
  ];
};
