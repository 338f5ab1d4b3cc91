/**
 * The checks of an application that involve more than one property, or values inside its complex properties: the
 * redirect URIs of the public-client (mobile and desktop) platform, api.requestedAccessTokenVersion, and the access
 * token version that personal Microsoft accounts require. Run on the body (shapes) and on the application as it would
 * be after the write (values), as Graph judges the result of a PATCH, not only the properties it names.
 *
 * - https://learn.microsoft.com/graph/api/resources/publicclientapplication and
 *   https://learn.microsoft.com/entra/identity-platform/reply-url: redirect URIs of at most 256 characters, none of
 *   ! $ ' ( ) , ; no wildcards, no fragments, https or a private-use scheme, http only for localhost and 127.0.0.1;
 *   at most 256 redirect URIs in all (100 when personal accounts sign in), and query strings only for apps that sign
 *   in work or school accounts alone.
 * - https://learn.microsoft.com/graph/api/resources/apiapplication: requestedAccessTokenVersion is null, 1 or 2, and
 *   must be 2 when signInAudience is AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount.
 * - https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation.
 *
 * Graph answers a personal-accounts audience without v2 tokens with 400 InvalidAccessTokenVersion "One or more
 * properties contains invalid values." (as Graph returns it to a PATCH of signInAudience alone); a bad value inside a
 * complex property with Request_BadRequest "Invalid value specified for property '<property>' of resource
 * 'Application'." (as Graph answers a bad web object).
 */
import { badRequest, GraphError } from '../http';
import type { Json } from '../state';
import { invalidValue } from './credentials';

const PERSONAL = new Set(['AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount']);
const MAX_URI_LENGTH = 256;
// eslint-disable-next-line no-control-regex
const badCharacters = /[!$'(),;*\s\u0000-\u001F\u007F]/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the OData reader refuses inside publicClient and api: values of the wrong JSON shape. */
export function checkNestedShapes(input: Record<string, unknown>): void {
  const publicClient = input.publicClient;
  if (isObject(publicClient) && 'redirectUris' in publicClient) {
    const uris = publicClient.redirectUris;
    if (!Array.isArray(uris))
      throw badRequest(
        `An unexpected '${isObject(uris) ? 'StartObject' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartArray' node was expected.`,
      );
    if (uris.some((u) => typeof u !== 'string'))
      throw badRequest(
        "Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details.",
      );
  }
  const api = input.api;
  if (isObject(api) && 'requestedAccessTokenVersion' in api) {
    const version = api.requestedAccessTokenVersion;
    if (version !== null && (typeof version !== 'number' || !Number.isInteger(version)))
      throw badRequest(
        "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for more details.",
      );
  }
}

/** The application as it would be after the write, judged as a whole. */
export function checkApplicationRules(data: Json): void {
  const audience = String(data.signInAudience ?? 'AzureADMyOrg');
  const api = isObject(data.api) ? data.api : {};
  const version = api.requestedAccessTokenVersion ?? null;
  if (version !== null && version !== 1 && version !== 2) throw invalidValue('api', 'Application');
  if (PERSONAL.has(audience) && version !== 2)
    throw new GraphError(400, 'InvalidAccessTokenVersion', 'One or more properties contains invalid values.');

  const publicUris = redirectUrisOf(data.publicClient);
  if (publicUris.some((uri) => !publicClientUriAccepted(uri, PERSONAL.has(audience))))
    throw invalidValue('publicClient', 'Application');

  const total = publicUris.length + redirectUrisOf(data.web).length + redirectUrisOf(data.spa).length;
  if (total > (PERSONAL.has(audience) ? 100 : 256)) throw invalidValue('publicClient', 'Application');
}

function redirectUrisOf(platform: unknown): string[] {
  if (!isObject(platform) || !Array.isArray(platform.redirectUris)) return [];
  return platform.redirectUris.filter((u): u is string => typeof u === 'string');
}

function publicClientUriAccepted(uri: string, personal: boolean): boolean {
  if (uri.length === 0 || uri.length > MAX_URI_LENGTH || badCharacters.test(uri) || uri.includes('#')) return false;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.+)$/.exec(uri);
  if (!scheme) return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (personal && url.search !== '') return false;
  const name = scheme[1]!.toLowerCase();
  if (name === 'http') return ['localhost', '127.0.0.1'].includes(url.hostname.toLowerCase());
  return name === 'https' || scheme[2]!.startsWith('/');
}
