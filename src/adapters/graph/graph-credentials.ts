/**
 * An application's credentials: a certificate (https://learn.microsoft.com/graph/applications-how-to-add-certificate),
 * a federated identity credential (https://learn.microsoft.com/graph/api/application-post-federatedidentitycredentials),
 * a client secret added and removed (https://learn.microsoft.com/graph/api/application-addpassword,
 * https://learn.microsoft.com/graph/api/application-removepassword), and the check that a new secret signs in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { type CertificateSpec, type FederatedCredentialSpec, MAX_FEDERATED_CREDENTIALS } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { NewSecret, StepContext } from '../../services/ports';
import type { CallOptions } from './graph-caller';
import { type FailureHelp, readGraphFailure } from './graph-errors';
import { callOf, lower, startStep, type StepDeps } from './graph-step';
import { createKeyedQueue } from '../../lib/queues';

interface KeyCredential {
  customKeyIdentifier?: string | null;
  displayName?: string | null;
  endDateTime?: string | null;
  key?: string | null;
  keyId?: string;
  startDateTime?: string | null;
  type?: string;
  usage?: string;
}

/**
 * What the token endpoint answers while a new secret (or app) is not yet known to it
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes: AADSTS7000215 invalid client
 * secret, AADSTS700016 application not found).
 */
const NEW_SECRET_PENDING = /AADSTS(7000215|700016)\b/;

/** A federatedIdentityCredential as Graph returns it (https://learn.microsoft.com/graph/api/resources/federatedidentitycredential). */
interface GraphFederatedCredential {
  id: string;
  name: string;
  issuer: string;
  subject: string;
  audiences?: string[] | null;
  description?: string | null;
}

export type FederatedCredential = FederatedCredentialSpec & { id: string };

/**
 * Graph's refusals of a duplicate: the name (409 Request_MultipleObjectsWithSameKeyValue, "FederatedIdentityCredential
 * with name main already exists.", quoted in github.com/Azure/azure-dev/issues/1482) and the issuer and subject
 * (400 InvalidFederatedIdentityCredentialValue, "The combination of issuer and subject must be unique for the
 * application.", quoted in github.com/Azure/azure-workload-identity/issues/434). Either may be an earlier attempt
 * of this step whose answer was lost; the list decides.
 */
function isDuplicateRefusal(err: unknown): boolean {
  const f = readGraphFailure(err);
  return (
    (f.status === 409 && f.code === 'Request_MultipleObjectsWithSameKeyValue') ||
    (f.status === 400 && /combination of issuer and subject must be unique/i.test(f.message))
  );
}

export class CredentialSteps {
  /**
   * Credential writes to one application, one at a time. Graph refuses concurrent credential writes to one
   * application with 409 Directory_ConcurrencyViolation ("Error due to concurrent requests being made to the
   * tenant. Please wait briefly and retry."; the body is quoted in github.com/nais/azurerator/issues/448, and
   * https://learn.microsoft.com/graph/api/application-addpassword does not list it). Mutual exclusion in this
   * process while a write runs, not memory of earlier calls: an entry is gone when its writes end.
   */
  private readonly writes = createKeyedQueue();

  constructor(private readonly deps: StepDeps) {}

  /**
   * PATCH keyCredentials replaces every key, so the existing ones are read with $select=keyCredentials (which
   * returns their public keys) and sent back with the new one. The new key's id is chosen here, so a retry after a
   * lost answer sends the same list again and cannot add the certificate twice.
   */
  async addCertificate(applicationObjectId: string, certificate: CertificateSpec, context: StepContext): Promise<void> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'add-certificate', context, [applicationObjectId]);
    const thumbprint = certificate.thumbprint.replace(/[^0-9a-f]/gi, '').toUpperCase();
    await this.serialized(applicationObjectId, async () => {
      const help: FailureHelp = {
        doing: `adding certificate ${thumbprint} to application ${applicationObjectId}`,
        requires: 'Application.ReadWrite.All',
      };
      const call = callOf({ ...step, deadline: graph.deadline() }, help, [applicationObjectId]);
      const app = await graph.get<{ keyCredentials?: KeyCredential[] }>(
        { path: `/applications/${applicationObjectId}`, select: ['keyCredentials'] },
        call,
      );
      const existing = app.keyCredentials ?? [];
      const sameCertificate = (k: KeyCredential) =>
        (k.customKeyIdentifier ?? '').toUpperCase() === thumbprint ||
        (!!k.key && createHash('sha1').update(Buffer.from(k.key, 'base64')).digest('hex').toUpperCase() === thumbprint);
      const present = existing.find(sameCertificate);
      if (present) {
        step.log.info({ applicationObjectId, thumbprint, keyId: present.keyId }, 'certificate already present');
        return;
      }
      const keyId = randomUUID();
      const kept = existing.map(({ key: der, ...rest }) => (der ? { ...rest, key: der } : rest));
      const added = {
        keyId,
        type: 'AsymmetricX509Cert',
        usage: 'Verify',
        key: certificate.derBase64,
        displayName: certificate.subject,
        // Whole seconds inside the certificate's validity: Graph refuses a key that outlives its certificate.
        startDateTime: new Date(Math.ceil(Date.parse(certificate.notBefore) / 1000) * 1000).toISOString(),
        endDateTime: new Date(Math.floor(Date.parse(certificate.notAfter) / 1000) * 1000).toISOString(),
      };
      await graph.send(
        { method: 'PATCH', path: `/applications/${applicationObjectId}`, body: { keyCredentials: [...kept, added] } },
        call,
      );
      step.log.info({ applicationObjectId, thumbprint, keyId }, 'certificate added');
    });
  }

  /**
   * Looks first, so a repeat is safe (https://learn.microsoft.com/graph/api/application-post-federatedidentitycredentials):
   * one with the same name, issuer and subject is this credential, made by an earlier attempt. Entra ID refuses a
   * second credential of the same name, a second one for the same issuer and subject, and a 21st
   * (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations); each is refused here
   * before the POST with what to do. Issuer and subject compare exactly: Entra matches them case-sensitively.
   */
  async addFederatedCredential(
    applicationObjectId: string,
    credential: FederatedCredentialSpec,
    context: StepContext,
  ): Promise<string> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'add-federated-credential', context, [applicationObjectId]);
    return this.serialized(applicationObjectId, async () => {
      const help: FailureHelp = {
        doing: `adding federated credential "${credential.name}" to application ${applicationObjectId}`,
        requires: 'Application.ReadWrite.All',
      };
      const call = callOf({ ...step, deadline: graph.deadline() }, help, [applicationObjectId]);
      const existing = await this.federatedCredentials(applicationObjectId, call);
      const present = existingFederated(applicationObjectId, existing, credential);
      if (present) {
        step.log.info(
          { applicationObjectId, name: credential.name, federatedCredentialId: present.id },
          'federated credential already present',
        );
        return present.id;
      }
      if (existing.length >= MAX_FEDERATED_CREDENTIALS) throw tooManyFederated(applicationObjectId, existing.length);
      let created: GraphFederatedCredential | undefined;
      try {
        created = await graph.attempt<GraphFederatedCredential | undefined>(
          {
            method: 'POST',
            path: `/applications/${applicationObjectId}/federatedIdentityCredentials`,
            body: {
              name: credential.name,
              issuer: credential.issuer,
              subject: credential.subject,
              audiences: [...credential.audiences],
              ...(credential.description ? { description: credential.description } : {}),
            },
          },
          call,
        );
      } catch (err) {
        if (!isDuplicateRefusal(err)) throw graph.fail(err, call);
        // Made meanwhile: by an earlier attempt whose answer was lost, or by someone else. The list says which.
        const again = await this.federatedCredentials(applicationObjectId, call);
        const landed = existingFederated(applicationObjectId, again, credential);
        if (!landed) throw graph.fail(err, call);
        step.log.info(
          { applicationObjectId, name: credential.name, federatedCredentialId: landed.id },
          'federated credential already present',
        );
        return landed.id;
      }
      if (!created?.id) {
        throw new RegistrarError(
          'unavailable',
          'Microsoft Entra ID did not confirm the federated credential. Try again in a minute; nothing will be duplicated.',
          { detail: `${help.doing}: Graph answered without the new credential's id.` },
        );
      }
      step.log.info(
        {
          applicationObjectId,
          name: credential.name,
          issuer: credential.issuer,
          subject: credential.subject,
          federatedCredentialId: created.id,
        },
        'federated credential added',
      );
      return created.id;
    });
  }

  /** GET /applications/{id}/federatedIdentityCredentials (https://learn.microsoft.com/graph/api/application-list-federatedidentitycredentials). */
  async listFederatedCredentials(applicationObjectId: string, context?: StepContext): Promise<FederatedCredential[]> {
    const step = startStep(this.deps, 'list-federated-credentials', context, [applicationObjectId]);
    return this.federatedCredentials(
      applicationObjectId,
      callOf(
        step,
        {
          doing: `reading the federated credentials of application ${applicationObjectId}`,
          requires: 'Application.Read.All',
        },
        [applicationObjectId],
      ),
    );
  }

  private async federatedCredentials(applicationObjectId: string, call: CallOptions): Promise<FederatedCredential[]> {
    const items = await this.deps.graph.list<GraphFederatedCredential>(
      { path: `/applications/${applicationObjectId}/federatedIdentityCredentials` },
      call,
    );
    return items.map((c) => ({
      id: c.id,
      name: c.name,
      issuer: c.issuer,
      subject: c.subject,
      audiences: c.audiences ?? [],
      ...(c.description ? { description: c.description } : {}),
    }));
  }

  /**
   * Not idempotent: each call that lands makes a new secret, and the secret text exists only in the answer. So the
   * call is retried only when Graph said it did nothing (429, 503, 409 concurrency, 404 while the app replicates).
   * When the answer is lost or is a 500/502/504, the secret may exist but nobody can ever read it; retrying would
   * leave that orphan and make a second one, so this fails and says so instead.
   */
  async addPassword(
    applicationObjectId: string,
    options: { displayName: string; endDateTime: Date },
    context?: StepContext,
  ): Promise<NewSecret> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'add-password', context, [applicationObjectId]);
    return this.serialized(applicationObjectId, async () => {
      const help: FailureHelp = {
        doing: `adding a client secret to application ${applicationObjectId}`,
        requires: 'Application.ReadWrite.All',
      };
      const call = callOf({ ...step, deadline: graph.deadline() }, help, [applicationObjectId], { repeatable: false });
      let answer: { keyId?: string; secretText?: string; hint?: string; endDateTime?: string };
      try {
        answer = await graph.attempt(
          {
            method: 'POST',
            path: `/applications/${applicationObjectId}/addPassword`,
            body: {
              passwordCredential: { displayName: options.displayName, endDateTime: options.endDateTime.toISOString() },
            },
          },
          call,
        );
      } catch (err) {
        const c = graph.classify(err, call);
        if (c.kind === 'transient' && c.applied === 'maybe') {
          const f = readGraphFailure(err);
          step.log.warn(
            { applicationObjectId, status: f.status, code: f.code, displayName: options.displayName },
            'secret outcome unknown',
          );
          throw new RegistrarError(
            'unavailable',
            'Microsoft Entra ID did not confirm the new secret, so none can be shown. Ask for a new secret in a minute.',
            {
              cause: err,
              detail: `${help.doing}: the answer was lost (${f.status ?? f.code}). A secret named "${options.displayName}" may have been created that nobody can read; it is not retried, to avoid a second one. Remove it in the app registration's Certificates & secrets if it is there.`,
            },
          );
        }
        throw graph.fail(err, call);
      }
      if (!answer.keyId || !answer.secretText) {
        throw new RegistrarError(
          'unavailable',
          'Microsoft Entra ID did not return the new secret. Ask for a new secret in a minute.',
          {
            detail: `${help.doing}: Graph answered without keyId or secretText.`,
          },
        );
      }
      const endDateTime = answer.endDateTime ?? options.endDateTime.toISOString();
      step.log.info({ applicationObjectId, keyId: answer.keyId, hint: answer.hint, endDateTime }, 'password added');
      return {
        keyId: answer.keyId,
        secretText: answer.secretText,
        hint: answer.hint ?? answer.secretText.slice(0, 3),
        endDateTime,
      };
    });
  }

  /** Removing a secret that is already gone (404 on this keyId) counts as done. */
  async removePassword(applicationObjectId: string, keyId: string, context?: StepContext): Promise<void> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'remove-password', context, [applicationObjectId]);
    await this.serialized(applicationObjectId, async () => {
      const help: FailureHelp = {
        doing: `removing client secret ${keyId} from application ${applicationObjectId}`,
        requires: 'Application.ReadWrite.All',
      };
      try {
        await graph.send(
          { method: 'POST', path: `/applications/${applicationObjectId}/removePassword`, body: { keyId } },
          callOf({ ...step, deadline: graph.deadline() }, help, [applicationObjectId]),
        );
      } catch (err) {
        if (!(err instanceof RegistrarError && err.code === 'not-found')) throw err;
        step.log.info({ applicationObjectId, keyId }, 'password already removed');
        return;
      }
      step.log.info({ applicationObjectId, keyId }, 'password removed');
    });
  }

  /** A new secret (or app) is unknown to the token service for a while: asks for a token until it works or the deadline passes. */
  async verifySecret(
    appId: string,
    secretText: string,
    deadline: Date,
    context?: StepContext,
  ): Promise<'works' | 'pending'> {
    const { graph } = this.deps;
    const { log } = startStep(this.deps, 'verify-secret', context, []);
    const { tenantId, authorityHost, graphHost } = graph.connection;
    if (!tenantId) {
      throw new RegistrarError('unavailable', 'Registrar cannot check the new secret: its tenant is not configured.', {
        detail:
          'verifying a new client secret: AZURE_TENANT_ID is not set; set it to the tenant id (GUID) Registrar manages.',
      });
    }
    const credential = new ClientSecretCredential(tenantId, appId, secretText, {
      authorityHost,
      disableInstanceDiscovery: true,
    });
    const aadsts = (err: unknown) => /AADSTS(\d+)/.exec(err instanceof Error ? err.message : String(err))?.[1];
    const pending = (err: unknown) => NEW_SECRET_PENDING.test(err instanceof Error ? err.message : String(err));
    try {
      await graph.retry(() => credential.getToken(`${graphHost}/.default`), {
        classify: (err) => (pending(err) ? 'retry' : 'fail'),
        deadline,
        onRetry: ({ attempt, delayMs, error }) =>
          log.info({ appId, attempt, delayMs, aadsts: aadsts(error) }, 'secret not yet usable'),
      });
    } catch (err) {
      if (pending(err)) {
        log.info({ appId, aadsts: aadsts(err) }, 'secret still propagating');
        return 'pending';
      }
      log.warn({ appId, aadsts: aadsts(err) }, 'secret refused');
      throw new RegistrarError(
        'invalid-input',
        'Microsoft Entra ID refused the new secret. An administrator should look at the app registration.',
        {
          cause: err,
          detail: `verifying the new client secret of app ${appId}: the token endpoint answered AADSTS${aadsts(err) ?? '?'} (not a propagation delay).`,
        },
      );
    }
    log.info({ appId }, 'secret works');
    return 'works';
  }

  private serialized<T>(objectId: string, work: () => Promise<T>): Promise<T> {
    return this.writes.run(lower(objectId), work);
  }
}

/**
 * The credential of `wanted` already on the application, or undefined when it is not there yet; throws when the
 * application holds one that clashes with it (its name for another workload, or its workload under another name).
 */
function existingFederated(
  applicationObjectId: string,
  existing: readonly FederatedCredential[],
  wanted: FederatedCredentialSpec,
): FederatedCredential | undefined {
  const sameName = existing.find((c) => lower(c.name) === lower(wanted.name));
  if (sameName) {
    if (sameName.issuer === wanted.issuer && sameName.subject === wanted.subject) return sameName;
    throw new RegistrarError(
      'conflict',
      `The app already has a federated credential named "${sameName.name}" for another workload (issuer ${sameName.issuer}, subject ${sameName.subject}), so Registrar left it as it is. Ask again with another name, or have an owner remove that credential first.`,
      {
        detail: `application ${applicationObjectId}: federated credential "${sameName.name}" (${sameName.id}) trusts issuer ${sameName.issuer} subject ${sameName.subject}, not issuer ${wanted.issuer} subject ${wanted.subject}; names are unique per application and cannot be changed`,
      },
    );
  }
  const sameWorkload = existing.find((c) => c.issuer === wanted.issuer && c.subject === wanted.subject);
  if (sameWorkload) {
    throw new RegistrarError(
      'conflict',
      `The app already trusts this workload (issuer ${wanted.issuer}, subject ${wanted.subject}) through its federated credential "${sameWorkload.name}", and Entra ID allows one per issuer and subject. That credential already lets the workload sign in as the app; nothing needs adding.`,
      {
        detail: `application ${applicationObjectId}: federated credential "${sameWorkload.name}" (${sameWorkload.id}) has the issuer and subject of "${wanted.name}"`,
      },
    );
  }
  return undefined;
}

function tooManyFederated(applicationObjectId: string, count: number): RegistrarError {
  return new RegistrarError(
    'conflict',
    `The app already has ${count} federated credentials, the most Microsoft Entra ID allows (${MAX_FEDERATED_CREDENTIALS}). An owner needs to remove one it no longer uses (Certificates & secrets, Federated credentials) before another can be added.`,
    {
      detail: `application ${applicationObjectId} holds ${count} federated identity credentials; Entra allows ${MAX_FEDERATED_CREDENTIALS} per application (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations)`,
    },
  );
}
