/**
 * Redirect URIs as Microsoft Entra accepts them, checked before Graph would refuse them. Limits from
 * "Redirect URI (reply URL) restrictions and limitations", https://learn.microsoft.com/entra/identity-platform/reply-url:
 * at most 256 URIs when the audience is AzureADMyOrg or AzureADMultipleOrgs and 100 when personal Microsoft
 * accounts may sign in; at most 256 characters each; https, except for localhost; none of ! $ ' ( ) , ; and no
 * wildcards. Fragments are refused because the authorization server appends its own response to the URI.
 */
import type { SignInAudience } from './app-spec';

export const maxRedirectUriLength = 256;

export function maxRedirectUris(audience: SignInAudience): number {
  return audience === 'AzureADandPersonalMicrosoftAccount' ? 100 : 256;
}

const forbidden = /[!$'(),;]/;
// eslint-disable-next-line no-control-regex
const spaceOrControl = /[\s\u0000-\u001F\u007F]/;

/** What is wrong with one redirect URI, as a sentence, or undefined. Shown values are cut to keep messages short. */
export function redirectUriProblem(uri: string): string | undefined {
  const shown = uri.length > 60 ? `${uri.slice(0, 57)}...` : uri;
  if (uri.length > maxRedirectUriLength)
    return `${shown} is ${uri.length} characters long; Entra ID accepts at most ${maxRedirectUriLength}.`;
  if (uri.includes('*')) return `${shown} has a wildcard (*); Entra ID needs each redirect URI written out in full.`;
  if (spaceOrControl.test(uri)) return `${shown} holds spaces or control characters.`;
  if (forbidden.test(uri))
    return `${shown} holds one of ! $ ' ( ) , ; which Entra ID does not accept in a redirect URI.`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${shown} is not a valid URL; write it in full, like https://app.contoso.com/auth/callback.`;
  }
  if (url.hash !== '' || uri.includes('#'))
    return `${shown} has a fragment (#...); remove it, the sign-in response is added there.`;
  if (url.username !== '' || url.password !== '') return `${shown} holds a user name or password; remove them.`;
  if (url.protocol === 'http:' && url.hostname === 'localhost') return undefined;
  if (url.protocol !== 'https:')
    return `${shown} must start with https:// (plain http is accepted only for http://localhost).`;
  return undefined;
}
