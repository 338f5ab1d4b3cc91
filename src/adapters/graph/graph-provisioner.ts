/**
 * Provisioner on Microsoft Graph: the steps of a request, each in the file of the objects it writes
 * (graph-applications.ts, graph-consent.ts, graph-directory-role.ts, graph-credentials.ts), all calling Graph
 * through one GraphCaller. Every step looks before it creates and can be re-run at any point: the application is
 * upserted by uniqueName, the service principal by appId, owners, grants and the role are listed first and only
 * what is missing is added, and an "already exists" answer to a retried create is adopted.
 *
 * Nothing is remembered between calls: each step is told its request and when the objects it refers to were
 * created (StepContext), which is what decides whether a 404 is Entra ID replicating or a real absence. The two
 * things kept in memory are a cache and a lock: the permission catalog (with a TTL, graph-catalog.ts) and the
 * one-at-a-time credential writes to an application (graph-credentials.ts).
 */
import type { AppSpec, CertificateSpec, FederatedCredentialSpec, PermissionRef } from '../../domain/app-spec';
import type { Logger } from '../../lib/logger';
import type { NewSecret, ProvisionedApp, Provisioner, ResourceCatalog, StepContext } from '../../services/ports';
import { ApplicationSteps } from './graph-applications';
import type { GraphCaller } from './graph-caller';
import { GraphCatalog } from './graph-catalog';
import { ConsentSteps } from './graph-consent';
import { CredentialSteps, type FederatedCredential } from './graph-credentials';
import { DirectoryRoleStep } from './graph-directory-role';

export interface GraphProvisionerOptions {
  graph: GraphCaller;
  logger: Logger;
  /** How long a resource's permission catalog is cached (default 1 hour). */
  catalogTtlMs?: number;
}

export class GraphProvisioner implements Provisioner {
  private readonly catalogs: GraphCatalog;
  private readonly applications: ApplicationSteps;
  private readonly consent: ConsentSteps;
  private readonly directoryRole: DirectoryRoleStep;
  private readonly credentials: CredentialSteps;

  constructor(options: GraphProvisionerOptions) {
    const deps = { graph: options.graph, logger: options.logger };
    this.catalogs = new GraphCatalog({
      ...deps,
      ...(options.catalogTtlMs !== undefined ? { catalogTtlMs: options.catalogTtlMs } : {}),
    });
    this.applications = new ApplicationSteps(deps);
    this.consent = new ConsentSteps({ ...deps, catalog: this.catalogs });
    this.directoryRole = new DirectoryRoleStep(deps);
    this.credentials = new CredentialSteps(deps);
  }

  catalog(resourceAppId: string): Promise<ResourceCatalog> {
    return this.catalogs.catalog(resourceAppId);
  }

  findResource(resourceAppId: string): Promise<ResourceCatalog | undefined> {
    return this.catalogs.findResource(resourceAppId);
  }

  ensureResourceServicePrincipal(
    resourceAppId: string,
    context: StepContext,
  ): Promise<{ servicePrincipalId: string; catalog: ResourceCatalog }> {
    return this.catalogs.ensureResourceServicePrincipal(resourceAppId, context);
  }

  upsertApplication(spec: AppSpec, context: StepContext): Promise<ProvisionedApp> {
    return this.applications.upsertApplication(spec, context);
  }

  ensureApplicationOwners(
    applicationObjectId: string,
    ownerIds: readonly string[],
    context: StepContext,
  ): Promise<void> {
    return this.applications.ensureApplicationOwners(applicationObjectId, ownerIds, context);
  }

  ensureServicePrincipal(appId: string, ownerIds: readonly string[], context: StepContext): Promise<string> {
    return this.applications.ensureServicePrincipal(appId, ownerIds, context);
  }

  grantApplicationPermissions(
    servicePrincipalId: string,
    permissions: readonly PermissionRef[],
    context: StepContext,
    withoutGrant?: readonly PermissionRef[],
  ): Promise<string[]> {
    return this.consent.grantApplicationPermissions(servicePrincipalId, permissions, context, withoutGrant);
  }

  grantDelegatedPermissions(
    servicePrincipalId: string,
    permissions: readonly PermissionRef[],
    context: StepContext,
  ): Promise<string[]> {
    return this.consent.grantDelegatedPermissions(servicePrincipalId, permissions, context);
  }

  assignDirectoryRole(servicePrincipalId: string, roleTemplateId: string, context: StepContext): Promise<string> {
    return this.directoryRole.assignDirectoryRole(servicePrincipalId, roleTemplateId, context);
  }

  addCertificate(applicationObjectId: string, certificate: CertificateSpec, context: StepContext): Promise<void> {
    return this.credentials.addCertificate(applicationObjectId, certificate, context);
  }

  addFederatedCredential(
    applicationObjectId: string,
    credential: FederatedCredentialSpec,
    context: StepContext,
  ): Promise<string> {
    return this.credentials.addFederatedCredential(applicationObjectId, credential, context);
  }

  listFederatedCredentials(applicationObjectId: string, context?: StepContext): Promise<FederatedCredential[]> {
    return this.credentials.listFederatedCredentials(applicationObjectId, context);
  }

  addPassword(
    applicationObjectId: string,
    options: { displayName: string; endDateTime: Date },
    context?: StepContext,
  ): Promise<NewSecret> {
    return this.credentials.addPassword(applicationObjectId, options, context);
  }

  removePassword(applicationObjectId: string, keyId: string, context?: StepContext): Promise<void> {
    return this.credentials.removePassword(applicationObjectId, keyId, context);
  }

  verifySecret(appId: string, secretText: string, deadline: Date, context?: StepContext): Promise<'works' | 'pending'> {
    return this.credentials.verifySecret(appId, secretText, deadline, context);
  }
}
