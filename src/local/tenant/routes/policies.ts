/**
 * App management policy endpoints (https://learn.microsoft.com/graph/api/resources/appmanagementpolicy): the tenant default (GET/PATCH /policies/defaultAppManagementPolicy),
 * custom policies (/policies/appManagementPolicies), and assigning a custom policy to an application
 * (/applications/{id}/appManagementPolicies). Enforcement lives in app-policies.ts and runs where credentials are
 * written (routes/applications.ts). Permissions as the API pages give them: read Policy.Read.All, write
 * Policy.ReadWrite.ApplicationConfiguration; assigning needs that and Application.Read.All at once.
 */
import { configuration, defaultAppManagementPolicy, invalidPolicyValue, unknownProperty } from '../app-policies';
import { isVisible, type RouteModule } from '../context';
import { badRequest, GraphError, type GraphRequest, notFound, type Permission, type Route } from '../http';
import { contextUrl } from '../odata';
import { type AppManagementPolicyRecord, type ApplicationRecord, type Json, newObjectId } from '../state';
import { capabilities, collection, entity } from './directory';

const POLICY_WRITE = 'Policy.ReadWrite.ApplicationConfiguration';
const POLICY_READ: Permission = { anyOf: ['Policy.Read.All', POLICY_WRITE] };
const WRITE: Permission = { anyOf: [POLICY_WRITE] };
const APPLICATION_READ = [
  'Application.Read.All',
  'Application.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
/** Assigning (https://learn.microsoft.com/graph/api/appmanagementpolicy-post-appliesto) needs Application.Read.All (or a higher read) and Policy.ReadWrite.ApplicationConfiguration. */
const ASSIGN: Permission = { anyOf: [POLICY_WRITE], alsoAnyOf: APPLICATION_READ };
/** Listing an app's policies reads both the app and the policy (the same pairing, for reads). */
const LIST_ASSIGNED: Permission = { anyOf: ['Policy.Read.All', POLICY_WRITE], alsoAnyOf: APPLICATION_READ };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLICIES = capabilities(
  'AppManagementPolicy',
  'appManagementPolicy',
  'id displayName description isEnabled restrictions',
  {
    id: { byDefault: ['eq', 'in'] },
    displayName: { byDefault: ['eq', 'in', 'startsWith'] },
    isEnabled: { byDefault: ['eq'] },
  },
);
const REFERENCE =
  /^https:\/\/[^/]+\/v1\.0\/policies\/appManagementPolicies\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

function body(request: GraphRequest): Record<string, unknown> {
  const value = request.body;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
  return value as Record<string, unknown>;
}

function checkType(value: unknown, expected: string): void {
  if (value !== `#microsoft.graph.${expected}`) {
    throw badRequest(
      `A type named '${String(value)}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`,
    );
  }
}

function text(value: unknown, property: string, resource: string, required: boolean): string | null {
  if (value === null || value === undefined) {
    if (required) throw invalidPolicyValue(property, resource);
    return null;
  }
  if (typeof value !== 'string' || (required && value.trim() === '')) throw invalidPolicyValue(property, resource);
  return value;
}

/** The tenant default after a PATCH: only the properties given change; restriction lists given replace theirs. */
function patchDefault(current: Json, input: Record<string, unknown>): Json {
  const next: Json = { ...current };
  for (const [name, value] of Object.entries(input)) {
    switch (name) {
      case '@odata.type':
        checkType(value, 'tenantAppManagementPolicy');
        break;
      case 'id':
        // Ids are read-only everywhere in Graph (wording unverified).
        throw badRequest(`Property '${name}' is read-only and cannot be set.`);
      case 'isEnabled':
        if (typeof value !== 'boolean') throw invalidPolicyValue('isEnabled', 'TenantAppManagementPolicy');
        next.isEnabled = value;
        break;
      case 'displayName':
      case 'description':
        next[name] = text(value, name, 'TenantAppManagementPolicy', false);
        break;
      case 'applicationRestrictions':
        next.applicationRestrictions =
          value === null
            ? null
            : configuration(
                value,
                current.applicationRestrictions as Json | undefined,
                'appManagementApplicationConfiguration',
                ['identifierUris'],
              );
        break;
      case 'servicePrincipalRestrictions':
        next.servicePrincipalRestrictions =
          value === null
            ? null
            : configuration(
                value,
                current.servicePrincipalRestrictions as Json | undefined,
                'appManagementServicePrincipalConfiguration',
                [],
              );
        break;
      default:
        throw unknownProperty(name, 'microsoft.graph.tenantAppManagementPolicy');
    }
  }
  return next;
}

/**
 * A custom policy from a POST (every required property) or a PATCH over `current`. displayName and description
 * are required on create (Graph's docs). isEnabled defaults to false when not given, as the tenant default's does
 * (Graph's default for custom policies is unverified).
 */
function customPolicy(input: Record<string, unknown>, current: Json | undefined): Json {
  const creating = current === undefined;
  const next: Json = current
    ? { ...current }
    : { id: newObjectId(), displayName: null, description: null, isEnabled: false, restrictions: null };
  for (const [name, value] of Object.entries(input)) {
    switch (name) {
      case '@odata.type':
        checkType(value, 'appManagementPolicy');
        break;
      case 'id':
        throw badRequest(`Property '${name}' is read-only and cannot be set.`);
      case 'isEnabled':
        if (typeof value !== 'boolean') throw invalidPolicyValue('isEnabled', 'AppManagementPolicy');
        next.isEnabled = value;
        break;
      case 'displayName':
      case 'description':
        next[name] = text(value, name, 'AppManagementPolicy', true);
        break;
      case 'restrictions':
        next.restrictions =
          value === null
            ? null
            : configuration(
                value,
                (current?.restrictions as Json | null | undefined) ?? undefined,
                'customAppManagementConfiguration',
                ['applicationRestrictions'],
              );
        break;
      default:
        throw unknownProperty(name, 'microsoft.graph.appManagementPolicy');
    }
  }
  if (creating) {
    text(next.displayName, 'displayName', 'AppManagementPolicy', true);
    text(next.description, 'description', 'AppManagementPolicy', true);
  }
  return next;
}

export const policyRoutes: RouteModule = (ctx) => {
  const state = () => ctx.state();

  function policy(request: GraphRequest, id = request.params.policyId!): AppManagementPolicyRecord {
    if (!GUID.test(id)) throw badRequest(`Invalid object identifier '${id}'.`);
    const record = state().data.appManagementPolicies[id.toLowerCase()];
    if (!record || !isVisible(record, request.now)) throw notFound(id);
    return record;
  }

  function application(request: GraphRequest): ApplicationRecord {
    const id = request.params.id!;
    if (!GUID.test(id)) throw badRequest(`Invalid object identifier '${id}'.`);
    const record = state().data.applications[id.toLowerCase()];
    if (!record || !isVisible(record, request.now)) throw notFound(id);
    return record;
  }

  /** The policy id in "@odata.id", which names Graph (or this tenant) as the service root. */
  function referencedPolicy(request: GraphRequest): AppManagementPolicyRecord {
    const value = body(request)['@odata.id'];
    const reference = typeof value === 'string' ? value : '';
    const m = REFERENCE.exec(reference);
    const root = m ? reference.slice(0, reference.indexOf('/v1.0/') + '/v1.0'.length) : '';
    if (!m || (root !== 'https://graph.microsoft.com/v1.0' && root !== request.serviceRoot))
      throw badRequest(`Invalid object identifier '${reference}'.`);
    return policy(request, m[1]!);
  }

  const visiblePolicies = (request: GraphRequest) =>
    Object.values(state().data.appManagementPolicies).filter((r) => isVisible(r, request.now));

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: '/policies/defaultAppManagementPolicy',
      permission: POLICY_READ,
      write: false,
      handler: (request) => ({
        status: 200,
        body: {
          '@odata.context': `${request.serviceRoot}/$metadata#policies/defaultAppManagementPolicy/$entity`,
          ...state().data.defaultAppManagementPolicy,
        },
      }),
    },
    {
      method: 'PATCH',
      pattern: '/policies/defaultAppManagementPolicy',
      permission: WRITE,
      write: true,
      handler: (request) => {
        const s = state();
        s.data.defaultAppManagementPolicy = patchDefault(
          s.data.defaultAppManagementPolicy ?? defaultAppManagementPolicy(),
          body(request),
        );
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/policies/appManagementPolicies',
      permission: POLICY_READ,
      write: false,
      handler: (request) =>
        collection(
          request,
          'policies/appManagementPolicies',
          visiblePolicies(request).map((r) => r.data),
          POLICIES,
        ),
    },
    {
      method: 'POST',
      pattern: '/policies/appManagementPolicies',
      permission: WRITE,
      write: true,
      handler: (request) => {
        const s = state();
        const data = customPolicy(body(request), undefined);
        s.data.appManagementPolicies[String(data.id)] = {
          data,
          visibleFrom: ctx.visibleFrom(),
          sequence: s.nextSequence(),
          appliesTo: [],
        };
        return entity(request, 'policies/appManagementPolicies', data, POLICIES, 201);
      },
    },
    {
      method: 'GET',
      pattern: '/policies/appManagementPolicies/{policyId}',
      permission: POLICY_READ,
      write: false,
      handler: (request) => entity(request, 'policies/appManagementPolicies', policy(request).data, POLICIES),
    },
    {
      method: 'PATCH',
      pattern: '/policies/appManagementPolicies/{policyId}',
      permission: WRITE,
      write: true,
      handler: (request) => {
        const record = policy(request);
        record.data = customPolicy(body(request), record.data);
        record.sequence = state().nextSequence();
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: '/policies/appManagementPolicies/{policyId}',
      permission: WRITE,
      write: true,
      handler: (request) => {
        // Deleting a policy that is still assigned unassigns it (whether Graph refuses instead is unverified).
        const record = policy(request);
        delete state().data.appManagementPolicies[String(record.data.id)];
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/applications/{id}/appManagementPolicies',
      permission: LIST_ASSIGNED,
      write: false,
      handler: (request) => {
        const app = application(request);
        const assigned = visiblePolicies(request).filter((r) => r.appliesTo.includes(String(app.data.id)));
        const response = collection(
          request,
          'policies/appManagementPolicies',
          assigned.map((r) => r.data),
          POLICIES,
        );
        // The navigation's own context ("#appManagementPolicies"; Graph's exact value unverified).
        (response.body as Json)['@odata.context'] = contextUrl(request.serviceRoot, 'appManagementPolicies', undefined);
        return response;
      },
    },
    {
      method: 'POST',
      pattern: '/applications/{id}/appManagementPolicies/$ref',
      permission: ASSIGN,
      write: true,
      handler: (request) => {
        const app = application(request);
        const target = referencedPolicy(request);
        const appId = String(app.data.id);
        if (target.appliesTo.includes(appId)) {
          throw badRequest(
            "One or more added object references already exist for the following modified properties: 'appManagementPolicies'.",
          );
        }
        // At most one policy per app (appmanagementpolicy-post-appliesto). Graph's wording for a second one is unverified.
        if (Object.values(state().data.appManagementPolicies).some((r) => r.appliesTo.includes(appId))) {
          throw badRequest(
            'An app management policy is already assigned to this object. Remove it before assigning another one.',
          );
        }
        target.appliesTo.push(appId);
        target.sequence = state().nextSequence();
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: '/applications/{id}/appManagementPolicies/{policyId}/$ref',
      permission: ASSIGN,
      write: true,
      handler: (request) => {
        const app = application(request);
        const target = policy(request);
        const appId = String(app.data.id);
        if (!target.appliesTo.includes(appId)) {
          throw badRequest(
            "One or more removed object references do not exist for the following modified properties: 'appManagementPolicies'.",
          );
        }
        target.appliesTo = target.appliesTo.filter((id) => id !== appId);
        target.sequence = state().nextSequence();
        return { status: 204 };
      },
    },
  ];
  return routes;
};
