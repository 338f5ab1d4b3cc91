/**
 * What an application is to the local tenant: its properties and their JSON shapes, what a fresh one looks
 * like, what $filter, $orderby and $search accept on the collection, and the checks a create or PATCH body goes
 * through before it is written. Properties: https://learn.microsoft.com/graph/api/resources/application
 */
import { badRequest, GraphError, OWNED_BY } from '../http';
import { applySelect, type CollectionCapabilities } from '../odata';
import type { ApplicationRecord, Json, TenantState } from '../state';
import { checkNestedShapes } from './application-rules';
import { invalidValue, withKeys } from './credentials';

/** Who may read and write applications (the Permissions table of each application API page). */
export const APPLICATION_READ = [
  'Application.Read.All',
  'Application.ReadWrite.All',
  OWNED_BY,
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
export const APPLICATION_WRITE = ['Application.ReadWrite.All', OWNED_BY];

/** Object ids and appIds are GUIDs. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
/**
 * Read-only properties in a body ⇒ 400 (the resource page marks them read-only; Graph's wording is unverified).
 * https://learn.microsoft.com/graph/api/resources/application
 */
const READ_ONLY = new Set(['id', 'appId', 'publisherDomain', 'createdDateTime', 'deletedDateTime']);
const SIGN_IN_AUDIENCES = [
  'AzureADMyOrg',
  'AzureADMultipleOrgs',
  'AzureADandPersonalMicrosoftAccount',
  'PersonalMicrosoftAccount',
];
/**
 * What $filter supports on applications, by default and with ConsistencyLevel: eventual + $count=true:
 * https://learn.microsoft.com/graph/aad-advanced-queries
 */
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

/**
 * What a fresh application looks like, as POST /applications returns it; the seed builds its applications on it
 * too. https://learn.microsoft.com/graph/api/application-post-applications
 */
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
    api: {
      acceptMappedClaims: null,
      knownClientApplications: [],
      requestedAccessTokenVersion: null,
      oauth2PermissionScopes: [],
      preAuthorizedApplications: [],
    },
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

/**
 * Rejects what Graph's OData reader rejects before the directory sees the body: unknown properties and
 * values of the wrong JSON shape. Codes and wording follow the OData reader's messages as Graph's directory
 * relays them (Request_BadRequest); the exact text for application bodies is unverified.
 */
export function readBody(body: unknown, mode: 'create' | 'update'): Record<string, unknown> {
  if (body === undefined && mode === 'update') return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GraphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
  const input = body as Record<string, unknown>;
  for (const [name, value] of Object.entries(input)) {
    if (name === '@odata.type') {
      if (value !== '#microsoft.graph.application')
        throw badRequest(
          `A type named '${String(value)}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`,
        );
      continue;
    }
    if (name === 'owners@odata.bind' && mode === 'create') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw badRequest(
          "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartArray' node was expected.",
        );
      continue;
    }
    const kind = PROPERTIES[name];
    if (!kind) {
      throw badRequest(
        `The property '${name}' does not exist on type 'Microsoft.DirectoryServices.Application'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
    if (READ_ONLY.has(name) || (name === 'passwordCredentials' && mode === 'update')) {
      // Read-only properties, and passwordCredentials by PATCH (addPassword is the way), ⇒ 400 (wording unverified).
      throw badRequest(`Property '${name}' is read-only and cannot be set.`);
    }
    checkShape(name, kind, value);
  }
  checkNestedShapes(input);
  validateValues(input, mode);
  return input;
}

function checkShape(name: string, kind: Kind, value: unknown): void {
  const edm = kind === 'boolean' ? 'Edm.Boolean' : 'Edm.String';
  const node = (v: unknown) =>
    Array.isArray(v) ? 'StartArray' : typeof v === 'object' && v !== null ? 'StartObject' : 'PrimitiveValue';
  const unexpected = (expected: string) =>
    badRequest(
      `An unexpected '${node(value)}' node was found when reading from the JSON reader. A '${expected}' node was expected.`,
    );
  switch (kind) {
    case 'string':
    case 'boolean':
      if (value === null) return;
      if (typeof value === 'object') throw unexpected('PrimitiveValue');
      if (typeof value !== (kind === 'boolean' ? 'boolean' : 'string')) {
        throw badRequest(
          `Cannot convert a primitive value to the expected type '${edm}'. See the inner exception for more details.`,
        );
      }
      return;
    case 'strings':
      if (!Array.isArray(value)) throw unexpected('StartArray');
      if (value.some((v) => typeof v !== 'string'))
        throw badRequest(
          "Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details.",
        );
      return;
    case 'objects':
      if (!Array.isArray(value)) throw unexpected('StartArray');
      if (value.some((v) => typeof v !== 'object' || v === null || Array.isArray(v)))
        throw badRequest(
          "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.",
        );
      return;
    case 'object':
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw unexpected('StartObject');
      return;
  }
}

/**
 * The directory's own checks: displayName required on create and ≤256, audiences, description ≤1024.
 * https://learn.microsoft.com/graph/api/resources/application
 */
function validateValues(input: Record<string, unknown>, mode: 'create' | 'update'): void {
  if (mode === 'create' || 'displayName' in input) {
    const name = input.displayName;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 256)
      throw invalidValue('displayName', 'Application');
  }
  if ('signInAudience' in input && !SIGN_IN_AUDIENCES.includes(String(input.signInAudience)))
    throw invalidValue('signInAudience', 'Application');
  if (typeof input.description === 'string' && input.description.length > 1024)
    throw invalidValue('description', 'Application');
  if (
    'uniqueName' in input &&
    input.uniqueName !== null &&
    (typeof input.uniqueName !== 'string' || input.uniqueName.trim() === '')
  ) {
    throw invalidValue('uniqueName', 'Application');
  }
}

/** Complex properties merge on PATCH; collections and primitives are replaced: https://learn.microsoft.com/graph/api/application-update */
export function merge(target: Json, patch: Record<string, unknown>): Json {
  const result: Json = { ...target };
  for (const [name, value] of Object.entries(patch)) {
    const current = result[name];
    const isPlain = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
    result[name] = isPlain(value) && isPlain(current) ? merge(current, value) : value;
  }
  return result;
}

/** Graph's 400 "Another object with the same value for property {prop} already exists." with its details. */
export function conflict(property: string, other: string): GraphError {
  const message = `Another object with the same value for property ${property} already exists.`;
  return badRequest(message, [
    { code: 'ObjectConflict', message, target: property },
    { code: 'ConflictingObjects', message, target: `Application_${other}` },
  ]);
}

export function checkUniqueness(state: TenantState, id: string, data: Json): void {
  if (typeof data.uniqueName === 'string') {
    const other = state.uniqueNameToApplication.get(data.uniqueName.toLowerCase());
    if (other && other !== id) throw conflict('uniqueName', other);
  }
  const uris = ((data.identifierUris as string[] | undefined) ?? []).map((u) => u.toLowerCase());
  if (uris.length > 0) {
    for (const [otherId, other] of Object.entries(state.data.applications)) {
      if (otherId === id) continue;
      if (((other.data.identifierUris as string[] | undefined) ?? []).some((u) => uris.includes(u.toLowerCase())))
        throw conflict('identifierUris', otherId);
    }
  }
}

/** An application as GET returns it: all of it, or the $select-ed properties (keyCredentials with their keys). */
export function renderApplication(record: ApplicationRecord, select: readonly string[] | undefined): Json {
  if (!select) return record.data;
  const selected = applySelect(record.data, select);
  if (select.includes('keyCredentials')) selected.keyCredentials = withKeys(record);
  return selected;
}

// How a request addresses one application.

/** The three ways Graph addresses one application: https://learn.microsoft.com/graph/api/application-get */
export function keyed(suffix = ''): string[] {
  return [
    `/applications/{id}${suffix}`,
    `/applications(appId='{appId}')${suffix}`,
    `/applications(uniqueName='{uniqueName}')${suffix}`,
  ];
}

export function keyValue(params: Record<string, string>): string {
  return params.id ?? params.appId ?? params.uniqueName ?? '';
}

/** The application a request addresses, visible or not, or undefined. */
export function findApplication(state: TenantState, params: Record<string, string>): ApplicationRecord | undefined {
  let id: string | undefined;
  if (params.id !== undefined) id = params.id.toLowerCase();
  else if (params.appId !== undefined) id = state.appIdToApplication.get(params.appId.toLowerCase());
  else if (params.uniqueName !== undefined) id = state.uniqueNameToApplication.get(params.uniqueName.toLowerCase());
  return id === undefined ? undefined : state.data.applications[id];
}

/** Graph's 400 for a malformed key (ids are GUIDs); then 404 for a missing or not yet replicated one. */
export function checkKeySyntax(params: Record<string, string>): void {
  if (params.id !== undefined && !GUID.test(params.id)) throw badRequest(`Invalid object identifier '${params.id}'.`);
  if (params.appId !== undefined && !GUID.test(params.appId)) {
    throw badRequest(
      "Invalid value specified for object reference property 'appId'. Please ensure that this value has an appropriate syntax and length.",
    );
  }
}
