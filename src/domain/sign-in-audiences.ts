/**
 * Which audiences a cloud offers. Personal Microsoft accounts (AzureADandPersonalMicrosoftAccount) exist only in the
 * global cloud: "National clouds: not supported" for that audience in "Validation differences by supported account
 * types", https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation, and national clouds
 * are separate instances of Microsoft Entra ID with no Microsoft account sign-in,
 * https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud.
 */
import type { SignInAudience } from './app-spec';

/** The clouds GRAPH_CLOUD names (config.ts GraphCloud, the same union: domain/ imports nothing outside it). */
export type GraphCloudName = 'global' | 'usgov' | 'usgovdod' | 'china';

export function personalAccountsIn(cloud: GraphCloudName): boolean {
  return cloud === 'global';
}

/** The audiences a request may ask for in this cloud, in the order the form offers them. */
export function audiencesIn(cloud: GraphCloudName): readonly SignInAudience[] {
  return personalAccountsIn(cloud)
    ? ['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount']
    : ['AzureADMyOrg', 'AzureADMultipleOrgs'];
}
