/**
 * The Provisioner and CredentialSource when Registrar has no Microsoft Graph identity (`npm run bot` with no
 * AZURE_* variables): every call refuses with what to configure, so that a request is never accepted that
 * nothing could provision, and a scan or a rotation says why it cannot run.
 */
import { RegistrarError } from '../../domain/errors';
import type { CredentialSource, Provisioner } from '../../services/ports';

async function refuse(): Promise<never> {
  throw new RegistrarError(
    'unavailable',
    'Registrar is not connected to Microsoft Entra ID, so it cannot take requests yet. An operator needs to configure its Microsoft Graph identity.',
    {
      detail:
        'no Microsoft Graph identity: set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH (or run `npm start`, which points Registrar at the local tenant)',
    },
  );
}

export function unavailableProvisioner(): Provisioner {
  return {
    catalog: refuse,
    findResource: refuse,
    ensureResourceServicePrincipal: refuse,
    upsertApplication: refuse,
    ensureApplicationOwners: refuse,
    ensureServicePrincipal: refuse,
    grantApplicationPermissions: refuse,
    grantDelegatedPermissions: refuse,
    assignDirectoryRole: refuse,
    addCertificate: refuse,
    addFederatedCredential: refuse,
    listFederatedCredentials: refuse,
    addPassword: refuse,
    removePassword: refuse,
    verifySecret: refuse,
  };
}

export function unavailableCredentialSource(): CredentialSource {
  return {
    // eslint-disable-next-line require-yield -- it refuses before there is anything to yield
    async *pages() {
      await refuse();
    },
    ownersOf: refuse,
    ownersOfEach: refuse,
    findApplication: refuse,
    privilegesOf: refuse,
  };
}
