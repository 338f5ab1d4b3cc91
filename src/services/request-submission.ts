/**
 * Asking for an app: the form's id (minted and reserved for the person it is sent to), its choices from the
 * Microsoft Graph catalog, and Submit, which checks the form, the person's right to ask, the owners they name
 * (users of the tenant) and how many requests they have open, then stores the request with its first audit row.
 * The request service (request-service.ts) offers these beside the decisions.
 */
import { MICROSOFT_GRAPH_APP_ID, permissionKind, type PermissionRef } from '../domain/app-spec';
import { approvalsNeeded } from '../domain/approval-policy';
import type { Actor, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, RegistrarError } from '../domain/errors';
import { sameObject } from '../domain/object-id';
import {
  createPermissionIndex,
  type PermissionIndex,
  type PermissionSearchOptions,
  type PermissionSearchResult,
} from '../domain/permission-search';
import {
  createRequest,
  pendingPermissions,
  tooManyOpen,
  type AppRequest,
  type CardRef,
  type OwnerDetail,
  type TargetOwners,
  type TransitionActor,
} from '../domain/request';
import { noPolicyRules, secretMaxDays, unreadableRules, type CredentialRules } from '../domain/credential-rules';
import {
  formLimits,
  TEAMS_TENANT_CHOICE,
  validateRequestForm,
  type FormErrorKey,
  type FormValues,
} from '../domain/request-form';
import { newRequestId, parseRequestId } from '../domain/request-id';
import { findResourceApi, knownResourceApiNames, resolvePermissionsIn } from '../domain/resource-apis';
import type { GraphCloud } from '../config';
import { assessRisk } from '../domain/risk';
import {
  REQUEST_INDEX_PREFIX,
  REQUEST_PARTITION,
  type IndexedRequestRecord,
  type ResourceCatalog,
  type TargetDirectory,
  type TargetPeople,
} from './ports';
import {
  annotateRequest,
  auditTrail,
  createRecord,
  loadRequest,
  openRequestCount,
  toRequest,
  type CommitOutcome,
} from './request-records';
import type { RequestServiceDeps } from './request-service';

const MAX_ATTEMPTS = 5;

/**
 * The users of a directory named by these user principal names (lower-case), in the order given, or the names it
 * does not know. Entra ID compares user principal names without regard to case. For the additional owners in the
 * Teams tenant and for the owners in a target directory alike.
 */
async function usersNamed(
  people: Pick<TargetPeople, 'usersByPrincipalName'>,
  upns: readonly string[],
): Promise<{ ok: true; users: OwnerDetail[] } | { ok: false; missing: string[] }> {
  if (upns.length === 0) return { ok: true, users: [] };
  const found = await people.usersByPrincipalName(upns);
  const byName = new Map(found.map((u) => [u.userPrincipalName.toLowerCase(), u]));
  const missing = upns.filter((upn) => !byName.has(upn.toLowerCase()));
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, users: upns.map((upn) => byName.get(upn.toLowerCase())!) };
}

/** "x is not a user", "x, y and 2 more are not users": the start of a message that says of which directory. */
function notUsers(names: readonly string[]): string {
  const more = names.length > 3 ? ` and ${names.length - 3} more` : '';
  return `${names.slice(0, 3).join(', ')}${more} ${names.length === 1 ? 'is not a user' : 'are not users'}`;
}

/**
 * The reservation of a form's id for the person it was sent to: an index row of the Requests table (no state
 * index reads it, so the sweeps and lists do not grow with forms opened and never sent).
 */
const formRow = (aadObjectId: string, requestId: string) =>
  `${REQUEST_INDEX_PREFIX}form.${aadObjectId.toLowerCase()}.${requestId}`;

export interface FormContext {
  /** secretMaxDays: Registrar's own maximum, capped by the app management policy's passwordLifetime. */
  policy: { secretMaxDays: number; secretDefaultDays: number; namePrefix?: string };
  /** What the tenant's app management policies allow for a new app's credential, read for this form. */
  credentialRules: CredentialRules;
  /** The cloud apps are made in: the form offers personal Microsoft accounts only in the global one. */
  cloud: GraphCloud;
  /** The Microsoft Graph catalog, for the form's choices. */
  catalog: PermissionIndex;
  /** The directories other than the Teams tenant an app can be made in. */
  targets: ReadonlyArray<{ key: string; name: string }>;
}

export type SubmitResult =
  | {
      ok: true;
      request: AppRequest;
      /** False when this form had already been submitted (a retried invoke). */ created: boolean;
    }
  | { ok: false; errors: Partial<Record<FormErrorKey, string>>; values: FormValues };

export interface RequestSubmission {
  formContext(): Promise<FormContext>;
  /**
   * The id a new form carries: minted here and reserved for this person in the store before the form is sent, so
   * that Submit accepts only an id this store gave this person (a retried Submit finds its request by it).
   */
  newForm(actor: Actor): Promise<{ requestId: string }>;
  searchPermissions(query: string, options?: PermissionSearchOptions): Promise<PermissionSearchResult>;
  /** `statusCard`: the card the form was, which becomes the request's status card and follows it. */
  submit(actor: Actor, input: unknown, conversation?: ConversationAddress, statusCard?: CardRef): Promise<SubmitResult>;
}

/** What the person typed, as text, to put back in the form. */
function textValues(input: unknown): FormValues {
  const values = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'string')) as FormValues;
}

export function createRequestSubmission(
  deps: RequestServiceDeps & { personOf: (actor: Actor, conversationId?: string) => TransitionActor },
): RequestSubmission {
  const { store, provisioner, clock, random, policy, logger, directory, people, onChange, personOf } = deps;
  const cloud = deps.cloud ?? 'global';
  const log = (requestId: string) => logger.child({ requestId });

  function noteAudit(outcome: CommitOutcome, requestId: string): void {
    // The move is saved; the row is written by the next save or read of this request (request-records.ts).
    if (!outcome.audited)
      log(requestId).warn({ sequence: outcome.stored.value.lastAudit?.sequence }, 'audit row deferred');
  }

  // The provisioner caches the catalog; the index is rebuilt only when it hands back a different one.
  let indexed: { catalog: ResourceCatalog; index: PermissionIndex } | undefined;
  async function graphIndex(): Promise<PermissionIndex> {
    const catalog = await provisioner.catalog(MICROSOFT_GRAPH_APP_ID);
    if (indexed?.catalog !== catalog) indexed = { catalog, index: createPermissionIndex(catalog.permissions) };
    return indexed.index;
  }

  const targetChoices = (deps.targets ?? []).map((t) => ({ key: t.key, name: t.name }));

  /**
   * The app management policies for a new app, read afresh (never cached: a changed policy binds the next form).
   * A read that fails for another reason than a missing permission (which the adapter reports in the rules) gives
   * Registrar's own limits, said on the card; provisioning reads them again before it writes anything.
   */
  async function newAppRules(): Promise<CredentialRules> {
    if (!deps.credentialPolicies) return noPolicyRules;
    try {
      return await deps.credentialPolicies.forNewApp();
    } catch (err) {
      if (!(err instanceof RegistrarError)) throw err;
      logger.warn({ err }, 'app management policy not read');
      return unreadableRules(
        "Registrar could not read the tenant's app management policies just now, so these choices are Registrar's own limits; Entra ID may still refuse a credential its policy forbids.",
      );
    }
  }

  /**
   * The Microsoft Graph permissions as the target directory's Microsoft Graph service principal declares them: the
   * form read them from the Teams tenant's, and a permission must exist where it is granted.
   */
  async function inTarget(
    target: TargetDirectory,
    chosen: readonly PermissionRef[],
  ): Promise<{ ok: true; permissions: PermissionRef[] } | { ok: false; message: string }> {
    let catalog: ResourceCatalog;
    try {
      catalog = await target.inTurn.catalog(MICROSOFT_GRAPH_APP_ID);
    } catch (err) {
      throw new RegistrarError(
        'unavailable',
        `Registrar cannot read Microsoft Graph's permissions in ${target.name} right now. Try again in a minute.`,
        {
          cause: err,
          detail: `reading the Microsoft Graph service principal in target ${target.key} (tenant ${target.tenantId}) failed; check its identity (TARGET_DIRECTORY_${target.key.toUpperCase()})`,
        },
      );
    }
    const permissions: PermissionRef[] = [];
    const missing: string[] = [];
    for (const p of chosen) {
      const found = catalog.permissions.find((c) => c.type === p.type && c.id.toLowerCase() === p.id.toLowerCase());
      if (found)
        permissions.push({
          ...found,
          resourceAppId: catalog.resourceAppId,
          resourceDisplayName: catalog.resourceDisplayName,
        });
      else missing.push(`${p.value} (${permissionKind(p.type)})`);
    }
    if (missing.length > 0)
      return {
        ok: false,
        message: `Microsoft Graph in ${target.name} has no ${missing.slice(0, 5).join(', ')}. Choose permissions it offers.`,
      };
    return { ok: true, permissions };
  }

  /**
   * The owners of an app in a target directory, read there: the user principal names the requester gave (each must
   * be a user of that directory), else the user members of its owners group (a group cannot own an application:
   * https://learn.microsoft.com/graph/api/application-post-owners). Never the requester, a Teams person.
   */
  async function targetOwnersOf(
    target: TargetDirectory,
    upns: readonly string[],
  ): Promise<{ ok: true; owners: TargetOwners } | { ok: false; field: 'targetOwners'; message: string }> {
    const setting = `TARGET_DIRECTORY_${target.key.toUpperCase()}`;
    const unavailable = (err: unknown, doing: string) =>
      new RegistrarError(
        'unavailable',
        `Registrar cannot look up the owners in ${target.name} right now. Try again in a minute.`,
        { cause: err, detail: `${doing} in target ${target.key} (tenant ${target.tenantId}) failed; check ${setting}` },
      );
    if (upns.length > 0) {
      let named: Awaited<ReturnType<typeof usersNamed>>;
      try {
        named = await usersNamed(target.people, upns);
      } catch (err) {
        throw unavailable(err, 'reading users by user principal name');
      }
      if (!named.ok)
        return {
          ok: false,
          field: 'targetOwners',
          message: `${notUsers(named.missing)} of ${target.name}. Name owners by their user principal name in that directory.`,
        };
      return { ok: true, owners: { from: 'named', owners: named.users } };
    }
    if (!target.ownersGroupId)
      return {
        ok: false,
        field: 'targetOwners',
        message: `Name at least one owner in ${target.name} by user principal name: it has no owners group to fall back on (ownersGroupId in ${setting}).`,
      };
    let members: OwnerDetail[];
    try {
      members = await target.people.groupUserMembers(target.ownersGroupId);
    } catch (err) {
      throw unavailable(err, `reading the members of owners group ${target.ownersGroupId}`);
    }
    if (members.length === 0)
      return {
        ok: false,
        field: 'targetOwners',
        message: `The owners group of ${target.name} has no users, so nobody would own the app there. Name its owners by user principal name.`,
      };
    return {
      ok: true,
      owners: { from: 'group', groupId: target.ownersGroupId, owners: members.slice(0, formLimits.owners) },
    };
  }

  async function requireRequester(actor: Actor): Promise<void> {
    const groupId = policy.requesterGroupId;
    if (!groupId || !directory || !actor.aadObjectId) return;
    let member: boolean;
    try {
      member = await directory.isMemberOfAnyGroup(actor.aadObjectId.toLowerCase(), [groupId]);
    } catch (err) {
      throw new RegistrarError(
        'unavailable',
        'Registrar cannot check your rights in the directory right now. Try again in a minute.',
        {
          cause: err,
          detail: `checking membership of ${actor.aadObjectId} in REQUESTER_GROUP_ID ${groupId} failed; check the Graph identity (Directory.Read.All, granted by npm run setup:permissions)`,
        },
      );
    }
    if (!member)
      throw new NotAuthorized(
        `Only members of the Entra group ${groupId} (REQUESTER_GROUP_ID) can ask for apps here. Ask an operator to add you.`,
      );
  }

  /**
   * The additional owners as the directory knows them: those chosen with the people picker by object id, then those
   * typed by user principal name. Only users of this tenant may own what Registrar creates: an id that /users does
   * not return (a service principal, a group, a deleted or unknown user), or a name no user has, is refused. The ids
   * the request keeps are the directory's, never the card's.
   */
  async function ownersOf(
    ids: readonly string[],
    upns: readonly string[],
  ): Promise<{ ok: true; details: OwnerDetail[] } | { ok: false; message: string }> {
    if (ids.length === 0 && upns.length === 0) return { ok: true, details: [] };
    if (!people)
      return {
        ok: false,
        message:
          'Registrar cannot look people up in the directory, so it cannot add other owners. Leave this empty; owners can be added to the app later.',
      };
    let found: OwnerDetail[];
    let named: Awaited<ReturnType<typeof usersNamed>>;
    try {
      found = ids.length > 0 ? await people.users(ids) : [];
      named = await usersNamed(people, upns);
    } catch (err) {
      throw new RegistrarError(
        'unavailable',
        'Registrar cannot look up the owners you named in the directory right now. Try again in a minute.',
        {
          cause: err,
          detail:
            'reading the additional owners with GET /users?$filter=id in (...) or userPrincipalName in (...) failed; check the Graph identity (Directory.Read.All)',
        },
      );
    }
    const byId = new Map(found.map((user) => [user.id.toLowerCase(), user]));
    const missing = ids.filter((id) => !byId.has(id.toLowerCase()));
    const problems = [
      ...(missing.length > 0
        ? [`${notUsers(missing)} of this tenant. Owners must be people: choose them with the people picker.`]
        : []),
      ...(!named.ok
        ? [
            `${notUsers(named.missing)} of this tenant. Name each owner by the address they sign in with (their user principal name), like alex@contoso.com.`,
          ]
        : []),
    ];
    if (problems.length > 0) return { ok: false, message: problems.join(' ') };
    const details = new Map<string, OwnerDetail>();
    for (const user of [...ids.map((id) => byId.get(id.toLowerCase())!), ...(named.ok ? named.users : [])])
      if (!details.has(user.id.toLowerCase())) details.set(user.id.toLowerCase(), user);
    return { ok: true, details: [...details.values()] };
  }

  /**
   * What a form's id stands for, for this person: their request already (a retried Submit), an id minted for
   * them that no request holds yet, or one they may not use.
   */
  async function formStanding(
    requestId: string,
    aadObjectId: string,
  ): Promise<
    { kind: 'submitted'; request: IndexedRequestRecord } | { kind: 'reserved' } | { kind: 'refused'; message: string }
  > {
    const existing = await store.requests.get(REQUEST_PARTITION, requestId);
    if (existing) {
      return sameObject(aadObjectId, existing.value.requester.aadObjectId)
        ? { kind: 'submitted', request: existing.value }
        : { kind: 'refused', message: 'This form belongs to another request. Open a new one with `request`.' };
    }
    if (await store.requests.index.get(REQUEST_PARTITION, formRow(aadObjectId, requestId))) return { kind: 'reserved' };
    return {
      kind: 'refused',
      message: 'This form belongs to another request, or to none Registrar sent you. Open a new one with `request`.',
    };
  }

  /** A retried Submit: the request as made, its audit row written if it was still only in the outbox. */
  async function submittedAgain(record: IndexedRequestRecord): Promise<SubmitResult> {
    await auditTrail(store, record);
    log(record.id).info('request submitted again');
    return { ok: true, request: toRequest(record), created: false };
  }

  async function submit(
    actor: Actor,
    input: unknown,
    conversation?: ConversationAddress,
    statusCard?: CardRef,
  ): Promise<SubmitResult> {
    const result = await create(actor, input, conversation);
    if (!result.ok) return result;
    let request = result.request;
    if (statusCard)
      request = await annotateRequest(store, request.id, (latest) => (latest.statusCard ? undefined : { statusCard }));
    if (result.created) onChange?.(request);
    return { ...result, request };
  }

  async function create(actor: Actor, input: unknown, conversation?: ConversationAddress): Promise<SubmitResult> {
    const requester = personOf(actor, conversation?.conversation.id);
    await requireRequester(actor);
    const now = clock.now();
    // A form's id is one this store minted for this person (newForm): card data only looks a request up. Looked at
    // before any Graph call (the catalog, the app management policy), so that a retried Submit answers from the store.
    const idText = (input as { requestId?: unknown } | null)?.requestId;
    const formId = typeof idText === 'string' && idText.trim() !== '' ? parseRequestId(idText.trim()) : undefined;
    if (formId !== undefined) {
      const standing = await formStanding(formId, requester.aadObjectId);
      if (standing.kind === 'refused') return { ok: false, errors: { form: standing.message }, values: {} };
      if (standing.kind === 'submitted') return submittedAgain(standing.request);
    }
    const catalog = await graphIndex();
    const chosen = (input as { target?: unknown } | null)?.target;
    const targetText = typeof chosen === 'string' ? chosen.trim().toLowerCase() : '';
    // The Teams tenant's policies; a target directory's own are applied by Entra ID there when the credential is added.
    const credentialRules =
      targetText === '' || targetText === TEAMS_TENANT_CHOICE ? await newAppRules() : noPolicyRules;
    const checked = validateRequestForm(input, {
      credentialRules,
      catalog,
      policy: {
        secretMaxDays: policy.secretMaxDays,
        secretDefaultDays: policy.secretDefaultDays,
        ...(policy.namePrefix ? { namePrefix: policy.namePrefix } : {}),
      },
      now,
      cloud,
      targets: targetChoices,
    });
    if (!checked.ok) return checked;
    const form = { ...checked.form };
    // At most OPEN_REQUESTS_PER_USER undecided at once: each one puts a card in front of the approvers.
    if ((await openRequestCount(store, requester.aadObjectId)) >= policy.openRequestsPerUser) {
      return { ok: false, errors: { form: tooManyOpen(policy.openRequestsPerUser) }, values: textValues(input) };
    }

    const target = form.target ? (deps.targets ?? []).find((t) => t.key === form.target) : undefined;
    const where = target?.inTurn ?? provisioner;
    let graphPermissions: PermissionRef[] = [...form.graphPermissions];
    if (target) {
      const resolved = await inTarget(target, graphPermissions);
      if (!resolved.ok) return { ok: false, errors: { permissions: resolved.message }, values: textValues(input) };
      graphPermissions = resolved.permissions;
    }
    const permissions: PermissionRef[] = [...graphPermissions];
    const unknown: string[] = [];
    // APIs whose service principal the tenant lacks: a Microsoft first-party one is created as part of the request.
    const toCreate = new Map<string, { appId: string; displayName: string }>();
    const unavailable = new Set<string>();
    const resources = new Map<string, Awaited<ReturnType<typeof provisioner.findResource>>>();
    for (const other of form.otherPermissions) {
      if (!resources.has(other.resourceAppId))
        resources.set(other.resourceAppId, await where.findResource(other.resourceAppId));
      const catalog = resources.get(other.resourceAppId);
      if (!catalog) {
        const known = findResourceApi(other.resourceAppId);
        if (known) toCreate.set(known.appId, { appId: known.appId, displayName: known.name });
        else unavailable.add(other.resourceAppId);
        continue;
      }
      const resolved = resolvePermissionsIn(catalog, [other]);
      permissions.push(...resolved.found);
      unknown.push(...resolved.unknown);
    }
    if (unavailable.size > 0) {
      return {
        ok: false,
        errors: {
          otherPermissions: `No API with app id ${[...unavailable].slice(0, 3).join(', ')} is in this tenant, and it is not one of the Microsoft APIs Registrar can add (${knownResourceApiNames()}). Check the app id; an API of another organisation is added to the tenant by its publisher's consent link first.`,
        },
        values: textValues(input),
      };
    }
    if (unknown.length > 0) {
      return {
        ok: false,
        errors: {
          otherPermissions: `These APIs have no such permission: ${unknown.slice(0, 5).join('; ')}. Check the resource app id and the permission's exact name.`,
        },
        values: textValues(input),
      };
    }
    const resourceServicePrincipals = [...toCreate.values()];

    const owners = await ownersOf(form.additionalOwnerIds, checked.ownerPrincipalNames ?? []);
    if (!owners.ok) return { ok: false, errors: { owners: owners.message }, values: textValues(input) };
    // The owners the request keeps are the ids the directory gave, those named by user principal name among them.
    form.additionalOwnerIds = owners.details.map((owner) => owner.id.toLowerCase());
    let targetOwners: TargetOwners | undefined;
    if (target) {
      const resolved = await targetOwnersOf(target, form.targetOwnerUpns ?? []);
      if (!resolved.ok) return { ok: false, errors: { [resolved.field]: resolved.message }, values: textValues(input) };
      targetOwners = resolved.owners;
    }

    const risk = assessRisk({
      // The permissions on APIs to be created are assessed by name, as they will be granted.
      permissions: [
        ...permissions,
        ...pendingPermissions({ form, resourceServicePrincipals, provisioning: { attempts: 0 } }),
      ],
      signInAudience: form.signInAudience,
      ...(form.directoryRole ? { directoryRole: form.directoryRole } : {}),
      ...(form.exchangeRbac ? { exchangeRbac: form.exchangeRbac } : {}),
      credential: form.credential,
    });
    for (let attempt = 1; ; attempt++) {
      const id = checked.requestId ?? newRequestId(random);
      const { request, audit } = createRequest({
        id,
        requester,
        form,
        permissions,
        risk,
        approvalsRequired: approvalsNeeded(risk.level, policy),
        pendingTtlDays: policy.pendingTtlDays,
        now,
        ...(conversation ? { requesterAddress: conversation } : {}),
        ownerDetails: owners.details,
        marker: Buffer.from(random(16)).toString('hex'),
        resourceServicePrincipals,
        ...(target && targetOwners
          ? { target: { key: target.key, name: target.name, tenantId: target.tenantId }, targetOwners }
          : {}),
      });
      try {
        const outcome = await createRecord(store, request, audit);
        noteAudit(outcome, id);
        log(id).info({ risk: risk.level, approvalsRequired: request.approvalsRequired }, 'request submitted');
        return { ok: true, request: toRequest(outcome.stored.value), created: true };
      } catch (err) {
        if (!(err instanceof ConflictError && err.reason === 'exists')) throw err;
        if (checked.requestId === undefined) {
          if (attempt >= MAX_ATTEMPTS) throw err;
          continue; // a generated id collided: draw another
        }
        const existing = await loadRequest(store, id);
        if (!sameObject(requester.aadObjectId, existing.value.requester.aadObjectId)) {
          return {
            ok: false,
            errors: { form: 'This form belongs to another request. Open a new one with `request`.' },
            values: {},
          };
        }
        // Submitted twice at once: the other copy created it.
        return submittedAgain(existing.value);
      }
    }
  }

  return {
    async newForm(actor) {
      const person = personOf(actor).aadObjectId;
      for (let attempt = 1; ; attempt++) {
        const requestId = newRequestId(random);
        try {
          // Reserved before any card carries it; an id some request already holds is drawn again at Submit's create.
          await store.requests.index.create(REQUEST_PARTITION, formRow(person, requestId), { requestId });
          return { requestId };
        } catch (err) {
          if (!(err instanceof ConflictError && err.reason === 'exists') || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },

    async formContext() {
      const credentialRules = await newAppRules();
      return {
        credentialRules,
        policy: {
          secretMaxDays: secretMaxDays(credentialRules, policy.secretMaxDays, clock.now()),
          secretDefaultDays: policy.secretDefaultDays,
          ...(policy.namePrefix ? { namePrefix: policy.namePrefix } : {}),
        },
        cloud,
        catalog: await graphIndex(),
        targets: targetChoices,
      };
    },

    async searchPermissions(query, options) {
      return (await graphIndex()).search(query, options);
    },

    submit,
  };
}
