/**
 * Redirect URIs as Microsoft Entra accepts them, per platform, checked before Graph would refuse them or sign-in
 * would fail with them. Sources:
 *
 * - [reply-url] "Redirect URI (reply URL) restrictions and limitations",
 *   https://learn.microsoft.com/entra/identity-platform/reply-url: at most 256 URIs when the audience is AzureADMyOrg or
 *   AzureADMultipleOrgs and 100 when personal Microsoft accounts may sign in; at most 256 characters each; https,
 *   except for localhost; none of ! $ ' ( ) , ; no wildcards; query parameters only in apps that sign in work or
 *   school accounts alone; the port of a localhost URI is ignored when matching, so URIs that differ only in it
 *   are one; the IPv6 loopback address [::1] is not supported. Fragments are refused because the authorization
 *   server appends its own response to the URI.
 * - [platforms] "How to add a redirect URI to your application" and "Public client and confidential client
 *   applications", https://learn.microsoft.com/entra/identity-platform/how-to-add-redirect-uri: web and single-page
 *   apps take https (or http://localhost) URIs; mobile and desktop apps (publicClient) also take private-use
 *   schemes, ms-appx-web:// (the Windows broker), https://login.microsoftonline.com/common/oauth2/nativeclient and
 *   http://localhost or http://127.0.0.1 with any port.
 * - [msal-ios] MSAL for iOS and macOS, "Redirect URI", https://learn.microsoft.com/entra/msal/objc/redirect-uris-ios:
 *   the redirect URI must be msauth.<bundle id>://auth.
 * - [msal-android] MSAL for Android, "Android redirect URI",
 *   https://learn.microsoft.com/entra/identity-platform/msal-android-single-sign-on and
 *   https://learn.microsoft.com/entra/msal/android/redirect-uri: msauth://<package name>/<signature hash>, the hash
 *   being the base64 SHA-1 of the signing certificate, URL-encoded.
 * - [wam] Windows broker (WAM), https://learn.microsoft.com/entra/msal/dotnet/acquiring-tokens/desktop-mobile/wam:
 *   ms-appx-web://microsoft.aad.brokerplugin/<client id>.
 */
import type { Platform, SignInAudience } from './app-spec';
import { isGuid } from './guid';

export const maxRedirectUriLength = 256;

export function maxRedirectUris(audience: SignInAudience): number {
  return audience === 'AzureADandPersonalMicrosoftAccount' ? 100 : 256;
}

export interface RedirectUriRules {
  platform: Platform;
  audience: SignInAudience;
}

const forbidden = /[!$'(),;]/;
// eslint-disable-next-line no-control-regex
const spaceOrControl = /[\s\u0000-\u001F\u007F]/;
/** RFC 3986 scheme: a letter, then letters, digits, + - . */
const schemeSyntax = /^([A-Za-z][A-Za-z0-9+.-]*):/;
/** An iOS or macOS bundle identifier: letters, digits, hyphens and periods. */
const bundleId = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
/** An Android application id: two or more segments, each a letter then letters, digits or underscores. */
const androidPackage = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/;
/** The package SID Windows gives a UWP app, which the broker plugin URI of such an app carries. */
const packageSid = /^S-1-15-2(-\d+)+$/i;
/** Schemes that run or name something in place: never where a sign-in response is sent. */
const notRedirectSchemes = new Set(['javascript', 'data', 'vbscript', 'file', 'blob', 'about', 'mailto', 'tel', 'sms']);
const platformNames: Record<Platform, string> = {
  none: 'a daemon or API',
  web: 'a web app',
  spa: 'a single-page app',
  publicClient: 'a mobile and desktop app',
};

/** What is wrong with one redirect URI on this platform and audience, as a sentence, or undefined. */
export function redirectUriProblem(
  uri: string,
  rules: RedirectUriRules = { platform: 'web', audience: 'AzureADMyOrg' },
): string | undefined {
  const shown = uri.length > 60 ? `${uri.slice(0, 57)}...` : uri;
  if (uri.length > maxRedirectUriLength)
    return `${shown} is ${uri.length} characters long; Entra ID accepts at most ${maxRedirectUriLength}.`;
  if (uri.includes('*')) return `${shown} has a wildcard (*); Entra ID needs each redirect URI written out in full.`;
  if (spaceOrControl.test(uri)) return `${shown} holds spaces or control characters.`;
  if (forbidden.test(uri))
    return `${shown} holds one of ! $ ' ( ) , ; which Entra ID does not accept in a redirect URI.`;
  const scheme = schemeSyntax.exec(uri)?.[1]?.toLowerCase();
  let url: URL | undefined;
  try {
    url = scheme ? new URL(uri) : undefined;
  } catch {
    url = undefined;
  }
  if (!scheme || !url) {
    return rules.platform === 'publicClient'
      ? `${shown} is not a valid URI; write it in full, like msauth.com.contoso.app://auth or http://localhost.`
      : `${shown} is not a valid URL; write it in full, like https://app.contoso.com/auth/callback.`;
  }
  if (url.hash !== '' || uri.includes('#'))
    return `${shown} has a fragment (#...); remove it, the sign-in response is added there.`;
  if (url.username !== '' || url.password !== '') return `${shown} holds a user name or password; remove them.`;
  if (url.search !== '' && rules.audience === 'AzureADandPersonalMicrosoftAccount')
    return `${shown} has a query string (?...); Entra ID accepts query parameters in redirect URIs only for apps that sign in work or school accounts alone.`;

  if (scheme === 'https') return undefined;
  if (scheme === 'http') return httpProblem(url, shown, rules.platform);
  if (rules.platform !== 'publicClient') {
    const mobile = scheme.startsWith('msauth') || scheme === 'ms-appx-web' ? ' It is a mobile or desktop URI:' : '';
    return `${shown} must start with https:// (plain http is accepted only for http://localhost). Entra ID accepts other schemes only on mobile and desktop apps, not on ${platformNames[rules.platform]}.${mobile ? `${mobile} choose mobile and desktop as the platform.` : ''}`;
  }
  return nativeProblem(uri, url, scheme, shown);
}

/** http: only the loopback host, and for a web or single-page app only localhost (plus 127.0.0.1 for web). */
function httpProblem(url: URL, shown: string, platform: Platform): string | undefined {
  const host = url.hostname.toLowerCase();
  if (host === '[::1]')
    return `${shown} uses the IPv6 loopback address [::1], which Entra ID does not support; use http://localhost or http://127.0.0.1.`;
  if (host === 'localhost') return undefined;
  if (host === '127.0.0.1' && (platform === 'publicClient' || platform === 'web')) return undefined;
  return platform === 'publicClient'
    ? `${shown} must start with https:// (plain http is accepted only for http://localhost and http://127.0.0.1).`
    : `${shown} must start with https:// (plain http is accepted only for http://localhost).`;
}

/** A mobile and desktop app's own schemes: MSAL's iOS and Android forms, the Windows broker, private-use schemes. */
function nativeProblem(uri: string, url: URL, scheme: string, shown: string): string | undefined {
  if (notRedirectSchemes.has(scheme))
    return `${shown} uses the ${scheme}: scheme, which cannot receive a sign-in response; use the app's own scheme, like com.contoso.app://auth.`;
  if (scheme === 'msauth') return androidProblem(uri, shown);
  if (scheme.startsWith('msauth.')) {
    const bundle = uri.slice('msauth.'.length, uri.indexOf(':'));
    const expected = `msauth.${bundle}://auth`;
    if (!bundleId.test(bundle))
      return `${shown} does not name an iOS or macOS bundle id after msauth.; MSAL needs msauth.<bundle id>://auth, like msauth.com.contoso.app://auth.`;
    if (uri !== expected)
      return `${shown} is not the form MSAL for iOS and macOS signs in with: write it exactly as ${expected}.`;
    return undefined;
  }
  if (scheme === 'ms-appx-web') {
    if (url.host.toLowerCase() !== 'microsoft.aad.brokerplugin') return undefined;
    const rest = url.pathname.replace(/^\//, '');
    if (isGuid(rest) || packageSid.test(rest)) return undefined;
    return `${shown} is a Windows broker URI, which ends with the app's client id (or its package SID): ms-appx-web://microsoft.aad.brokerplugin/<client id>.`;
  }
  // A private-use scheme (RFC 8252 7.1): scheme:/path or scheme://host/path; something must follow the scheme, or
  // the operating system has nothing to open.
  const rest = uri.slice(scheme.length + 1);
  if (!rest.startsWith('/'))
    return `${shown} is not a valid URI; write it in full, like ${scheme}://auth or http://localhost:3000.`;
  if (rest.replace(/^\/+/, '') === '') return `${shown} has only a scheme; add where it leads, like ${scheme}://auth.`;
  return undefined;
}

/** msauth://<package name>/<URL-encoded base64 SHA-1 signature hash> [msal-android]. */
function androidProblem(uri: string, shown: string): string | undefined {
  const form =
    'msauth://<package name>/<signature hash>, like msauth://com.contoso.app/2pmj9i4rSx0yEb%2FviWBYkE%2FZQrk%3D';
  const match = /^msauth:\/\/([^/?#]+)\/([^/?#]*)$/.exec(uri);
  if (!match) return `${shown} is not the form MSAL for Android signs in with: ${form}.`;
  const [, pkg = '', hash = ''] = match;
  if (!androidPackage.test(pkg))
    return `${shown} does not name an Android package after msauth://; the package name is like com.contoso.app (${form}).`;
  if (hash === '') return `${shown} lacks the signature hash after the package name: ${form}.`;
  if (/[+=]/.test(hash) || /%(?![0-9A-Fa-f]{2})/.test(hash))
    return `${shown} has a signature hash that is not URL-encoded; write + as %2B, / as %2F and = as %3D.`;
  let decoded: string;
  try {
    decoded = decodeURIComponent(hash);
  } catch {
    return `${shown} has a signature hash that is not URL-encoded; write + as %2B, / as %2F and = as %3D.`;
  }
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/.test(decoded) && decoded.length % 4 === 0;
  if (!base64 || Buffer.from(decoded, 'base64').length !== 20)
    return `${shown} has a signature hash that is not the base64 SHA-1 of the app's signing certificate (28 characters, from keytool -exportcert ... | openssl sha1 -binary | openssl base64), URL-encoded.`;
  return undefined;
}

/**
 * What is wrong with the list as a whole, once each URI is good: localhost URIs that differ only in their port are
 * the same URI to Entra ID, which picks one of them at random when signing in [reply-url].
 */
export function redirectUriListProblem(uris: readonly string[]): string | undefined {
  const seen = new Map<string, string>();
  for (const uri of uris) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' || url.hostname.toLowerCase() !== 'localhost') continue;
    const key = `${url.pathname}${url.search}`;
    const other = seen.get(key);
    if (other !== undefined)
      return `${other} and ${uri} differ only in their port, which Entra ID ignores for localhost; keep one of them.`;
    seen.set(key, uri);
  }
  return undefined;
}
