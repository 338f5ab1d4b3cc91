/**
 * An application's federated identity credentials (https://learn.microsoft.com/graph/api/resources/federatedidentitycredential):
 * create, list, get, update (or create by name) and delete, addressed by the application's id or appId, each
 * credential by its id or its name. Limits and checks as https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations
 * states them: at most 20 per application; name 3 to 120 URL-friendly characters, unique in the application and
 * immutable; issuer (a URL) and subject required, at most 600 characters each, their pair unique in the
 * application; exactly one audience of at most 600 characters; description at most 600 characters. Every write
 * is a change of the application (its sequence moves, so delta reports it).
 */
import { isVisible, type RouteModule } from '../context';
import { badRequest, GraphError, type GraphRequest, type GraphResponse, notFound, OWNED_BY, type Route } from '../http';
import { type ApplicationRecord, type Json, newObjectId } from '../state';
import { checkKeySyntax, findApplication, GUID } from './application-schema';
import { invalidValue } from './credentials';
import { capabilities, collection, entity } from './directory';

/** https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations: "A maximum of 20 federated identity credentials can be added to an application". */
export const FEDERATED_CREDENTIALS_PER_APP = 20;
/** Same page: issuer, subject, the one audience and description are each limited to 600 characters. */
const MAX_VALUE = 600;
/** Same page: name "has a character limit of 3-120 characters and must be URL friendly. Alphanumeric, dash, or underscore characters are supported, and the first character must be alphanumeric only." */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/;

const RESOURCE = 'FederatedIdentityCredential';

/** The collection's $filter and $select (application-list-federatedidentitycredentials: $filter (eq) and $select). */
const FEDERATED = capabilities(
  RESOURCE,
  'federatedIdentityCredential',
  'id name issuer subject audiences description',
  {
    name: { byDefault: ['eq'] },
    issuer: { byDefault: ['eq'] },
    subject: { byDefault: ['eq'] },
    'audiences/any': { byDefault: ['eq'] },
  },
);

/**
 * Permissions tables of application-post-federatedidentitycredentials, -list-, -get, -update and -delete: writes
 * need Application.ReadWrite.All, or Application.ReadWrite.OwnedBy on an application the caller owns; reads also
 * Application.Read.All.
 */
const WRITE = ['Application.ReadWrite.All', OWNED_BY];
const READ = ['Application.Read.All', ...WRITE];

const APPLICATION_KEYS = ['/applications/{id}', "/applications(appId='{appId}')"] as const;

/** The credentials of an application as stored (absent on records saved before they existed). */
function credentialsOf(record: ApplicationRecord): Json[] {
  return record.federatedIdentityCredentials ?? [];
}

/** The credential a path segment names: its id, or its name (Graph accepts either as the key). */
function findCredential(record: ApplicationRecord, key: string): Json | undefined {
  const k = key.toLowerCase();
  return credentialsOf(record).find((c) => String(c.id).toLowerCase() === k || String(c.name).toLowerCase() === k);
}

function text(input: Record<string, unknown>, property: string, required: boolean): string | null | undefined {
  const value = input[property];
  if (value === undefined || value === null) {
    if (required) throw invalidValue(property, RESOURCE);
    return value;
  }
  if (typeof value !== 'string' || (required && value === '')) throw invalidValue(property, RESOURCE);
  return value;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw invalidValue('name', RESOURCE);
}

function checkIssuer(issuer: string): void {
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || issuer.length > MAX_VALUE) throw invalidValue('issuer', RESOURCE);
}

function checkSubject(subject: string): void {
  if (subject.length > MAX_VALUE) throw invalidValue('subject', RESOURCE);
}

/** "This field can only accept a single value and has a limit of 600 characters" (application-post-federatedidentitycredentials). */
function checkAudiences(value: unknown): string[] {
  if (!Array.isArray(value) || value.length !== 1) throw invalidValue('audiences', RESOURCE);
  const [audience] = value as unknown[];
  if (typeof audience !== 'string' || audience === '' || audience.length > MAX_VALUE)
    throw invalidValue('audiences', RESOURCE);
  return [audience];
}

function checkDescription(description: string | null | undefined): void {
  if (typeof description === 'string' && description.length > MAX_VALUE) throw invalidValue('description', RESOURCE);
}

/** 409 when another credential of the application has this name (github.com/Azure/azure-dev/issues/1482 quotes Graph's answer). */
function duplicateName(name: string): GraphError {
  return new GraphError(
    409,
    'Request_MultipleObjectsWithSameKeyValue',
    `FederatedIdentityCredential with name ${name} already exists.`,
  );
}

/** 400 when another credential of the application has this issuer and subject (github.com/Azure/azure-workload-identity/issues/434 quotes Graph's answer). */
function duplicateIssuerAndSubject(issuer: string, subject: string): GraphError {
  return new GraphError(
    400,
    'InvalidFederatedIdentityCredentialValue',
    `The combination of issuer and subject must be unique for the application. Issuer ${issuer} and Subject: ${subject} already exist. paramName: FederatedIdentityCredential.Subject, paramValue: ${subject}, objectType: Microsoft.Online.DirectoryServices.Application`,
  );
}

/** A 21st credential (the limit is Learn's; the wording of Graph's refusal is unverified). */
function tooMany(): GraphError {
  return badRequest(
    `The application has reached the maximum number of federated identity credentials (${FEDERATED_CREDENTIALS_PER_APP}).`,
  );
}

function checkIssuerAndSubjectUnique(record: ApplicationRecord, candidate: Json, exceptId?: string): void {
  const clash = credentialsOf(record).find(
    (c) => c.id !== exceptId && c.issuer === candidate.issuer && c.subject === candidate.subject,
  );
  if (clash) throw duplicateIssuerAndSubject(String(candidate.issuer), String(candidate.subject));
}

function readObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('Empty Payload. JSON content expected.');
  return body as Record<string, unknown>;
}

/** The new credential a create (or an upsert by name) describes, checked; not yet added. */
function newCredential(record: ApplicationRecord, input: Record<string, unknown>): Json {
  const name = text(input, 'name', true)!;
  checkName(name);
  const issuer = text(input, 'issuer', true)!;
  checkIssuer(issuer);
  const subject = text(input, 'subject', true)!;
  checkSubject(subject);
  const audiences = checkAudiences(input.audiences);
  const description = text(input, 'description', false) ?? null;
  checkDescription(description);
  for (const property of Object.keys(input)) {
    if (!['name', 'issuer', 'subject', 'audiences', 'description', 'id', '@odata.type'].includes(property))
      throw invalidValue(property, RESOURCE);
  }
  if (findCredential(record, name)) throw duplicateName(name);
  if (credentialsOf(record).length >= FEDERATED_CREDENTIALS_PER_APP) throw tooMany();
  // Key order as Graph writes it (the example response of application-post-federatedidentitycredentials).
  const credential: Json = { id: newObjectId(), name, issuer, subject, description, audiences };
  checkIssuerAndSubjectUnique(record, credential);
  return credential;
}

export const federatedCredentialRoutes: RouteModule = (ctx) => {
  const state = () => ctx.state();

  /** The addressed application as other calls see it: 404 while it is missing or still replicating. */
  function application(request: GraphRequest): ApplicationRecord {
    checkKeySyntax(request.params);
    const record = findApplication(state(), request.params);
    if (!record || !isVisible(record, request.now)) throw notFound(request.params.appId ?? request.params.id ?? '');
    return record;
  }

  function credential(record: ApplicationRecord, request: GraphRequest): Json {
    const found = findCredential(record, request.params.credential!);
    if (!found) throw notFound(request.params.credential!);
    return found;
  }

  /** OwnedBy reaches only owned apps; a missing app lets the handler answer 404. */
  const owns = (request: GraphRequest): boolean => {
    const record = findApplication(state(), request.params);
    if (!record || !isVisible(record, request.now)) return true;
    return record.owners.includes(request.caller.servicePrincipalId);
  };
  const read = { anyOf: READ, ownedBy: owns };
  const write = { anyOf: WRITE, ownedBy: owns };

  const set = (record: ApplicationRecord) => `applications('${String(record.data.id)}')/federatedIdentityCredentials`;

  /** The record changed: delta reports the application again. */
  function written(record: ApplicationRecord, credentials: Json[]): void {
    record.federatedIdentityCredentials = credentials;
    record.sequence = state().nextSequence();
  }

  function create(request: GraphRequest, record: ApplicationRecord, input: Record<string, unknown>): GraphResponse {
    const added = newCredential(record, input);
    ctx.beforeCredentialWrite();
    written(record, [...credentialsOf(record), added]);
    return entity(request, set(record), added, FEDERATED, 201);
  }

  /** PATCH: the name cannot change; issuer, subject, audiences and description are checked as on create. */
  function update(record: ApplicationRecord, current: Json, input: Record<string, unknown>): GraphResponse {
    if ('name' in input && (typeof input.name !== 'string' || input.name !== current.name)) {
      // "It's immutable once created" (workload-identity-federation-considerations; the wording of the refusal is unverified).
      throw badRequest("Property 'name' is read-only and cannot be updated.");
    }
    if ('id' in input && String(input.id).toLowerCase() !== String(current.id)) throw invalidValue('id', RESOURCE);
    const next: Json = { ...current };
    if ('issuer' in input) {
      next.issuer = text(input, 'issuer', true);
      checkIssuer(String(next.issuer));
    }
    if ('subject' in input) {
      next.subject = text(input, 'subject', true);
      checkSubject(String(next.subject));
    }
    if ('audiences' in input) next.audiences = checkAudiences(input.audiences);
    if ('description' in input) {
      next.description = text(input, 'description', false) ?? null;
      checkDescription(next.description as string | null);
    }
    for (const property of Object.keys(input)) {
      if (!['name', 'issuer', 'subject', 'audiences', 'description', 'id', '@odata.type'].includes(property))
        throw invalidValue(property, RESOURCE);
    }
    checkIssuerAndSubjectUnique(record, next, String(current.id));
    ctx.beforeCredentialWrite();
    written(
      record,
      credentialsOf(record).map((c) => (c.id === current.id ? next : c)),
    );
    return { status: 204 };
  }

  return APPLICATION_KEYS.flatMap((key): Route[] => {
    const collectionPath = `${key}/federatedIdentityCredentials`;
    const itemPath = `${collectionPath}/{credential}`;
    return [
      {
        method: 'GET',
        pattern: collectionPath,
        permission: read,
        write: false,
        handler: (request) => {
          const record = application(request);
          return collection(request, set(record), credentialsOf(record), FEDERATED);
        },
      },
      {
        method: 'POST',
        pattern: collectionPath,
        permission: write,
        write: true,
        handler: (request) => create(request, application(request), readObject(request.body)),
      },
      {
        method: 'GET',
        pattern: itemPath,
        permission: read,
        write: false,
        handler: (request) => {
          const record = application(request);
          return entity(request, set(record), credential(record, request), FEDERATED);
        },
      },
      {
        method: 'PATCH',
        pattern: itemPath,
        permission: write,
        write: true,
        handler: (request) => {
          const record = application(request);
          const input = readObject(request.body);
          const current = findCredential(record, request.params.credential!);
          if (current) return update(record, current, input);
          // Upsert by name (federatedidentitycredential-upsert): a name nobody holds creates the credential.
          const name = request.params.credential!;
          if (GUID.test(name) || !NAME.test(name)) throw notFound(name);
          if (typeof input.name === 'string' && input.name !== name) throw invalidValue('name', RESOURCE);
          return create(request, record, { ...input, name });
        },
      },
      {
        method: 'DELETE',
        pattern: itemPath,
        permission: write,
        write: true,
        handler: (request) => {
          const record = application(request);
          const removed = credential(record, request);
          ctx.beforeCredentialWrite();
          written(
            record,
            credentialsOf(record).filter((c) => c.id !== removed.id),
          );
          return { status: 204 };
        },
      },
    ];
  });
};
