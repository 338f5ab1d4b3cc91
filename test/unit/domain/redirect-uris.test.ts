import type { Platform, SignInAudience } from '../../../src/domain/app-spec';
import { redirectUriListProblem, redirectUriProblem } from '../../../src/domain/redirect-uris';

const rules = (platform: Platform, audience: SignInAudience = 'AzureADMyOrg') => ({ platform, audience });
const mobile = rules('publicClient');
// The base64 SHA-1 of a signing certificate, URL-encoded, as the Entra portal and MSAL for Android write it.
const hash = encodeURIComponent(Buffer.alloc(20, 0xfb).toString('base64'));

describe('redirect URIs of a mobile and desktop app', () => {
  test.each([
    ['an iOS or macOS MSAL URI', 'msauth.com.contoso.notes://auth'],
    ['an Android MSAL URI', `msauth://com.contoso.notes/${hash}`],
    [
      'the Windows broker URI with a client id',
      'ms-appx-web://microsoft.aad.brokerplugin/3fa85f64-5717-4562-b3fc-2c963f66afa6',
    ],
    ['the Windows broker URI of a UWP app', 'ms-appx-web://Microsoft.AAD.BrokerPlugin/S-1-15-2-1234567-89012-3456'],
    ['another ms-appx-web URI', 'ms-appx-web://contoso.notes/auth'],
    ['a private-use scheme', 'com.contoso.app://callback'],
    ['a private-use scheme with one slash (RFC 8252)', 'com.contoso.app:/oauth2redirect'],
    ['the native client URI', 'https://login.microsoftonline.com/common/oauth2/nativeclient'],
    ['http://localhost', 'http://localhost'],
    ['http://localhost with a port and path', 'http://localhost:51004/callback'],
    ['http://127.0.0.1', 'http://127.0.0.1'],
    ['http://127.0.0.1 with a port', 'http://127.0.0.1:8400'],
  ])('when it is %s, then it is accepted', (_label, uri) => {
    expect(redirectUriProblem(uri, mobile)).toBeUndefined();
  });

  test.each([
    [
      'an iOS URI that does not end in ://auth',
      'msauth.com.contoso://callback',
      /write it exactly as msauth\.com\.contoso:\/\/auth/,
    ],
    [
      'an iOS URI with a path after auth',
      'msauth.com.contoso.notes://auth/',
      /exactly as msauth\.com\.contoso\.notes:\/\/auth/,
    ],
    ['an iOS URI without a bundle id', 'msauth.://auth', /does not name an iOS or macOS bundle id/],
    ['an Android URI without a hash', 'msauth://com.contoso.notes/', /lacks the signature hash/],
    [
      'an Android URI whose hash is not URL-encoded',
      `msauth://com.contoso.notes/${decodeURIComponent(hash).replace(/\//g, '')}`,
      /not URL-encoded/,
    ],
    ['an Android URI whose hash is not a SHA-1', 'msauth://com.contoso.notes/abcd', /not the base64 SHA-1/],
    ['an Android URI with a bad package name', `msauth://contoso/${hash}`, /does not name an Android package/],
    [
      'an Android URI with more path',
      `msauth://com.contoso.notes/${hash}/more`,
      /not the form MSAL for Android signs in with/,
    ],
    [
      'a Windows broker URI without the client id',
      'ms-appx-web://microsoft.aad.brokerplugin/notes',
      /ends with the app's client id/,
    ],
    [
      'plain http to another host',
      'http://notes.contoso.com/auth',
      /must start with https:\/\/ .*http:\/\/127\.0\.0\.1/,
    ],
    ['the IPv6 loopback', 'http://[::1]:3000', /IPv6 loopback address \[::1\], which Entra ID does not support/],
    ['a javascript: URI', 'javascript://alert%281%29', /javascript: scheme, which cannot receive a sign-in response/],
    ['a scheme alone', 'com.contoso.app://', /has only a scheme/],
    ['a host and port without a scheme', 'localhost:3000', /is not a valid URI/],
    ['a wildcard', 'com.contoso.app://*', /has a wildcard/],
    ['a fragment', 'com.contoso.app://auth#x', /has a fragment/],
    ['257 characters', `com.contoso.app://${'a'.repeat(239)}`, /257 characters long; Entra ID accepts at most 256/],
  ])("when it is %s, then it is refused with Entra's reason", (_label, uri, reason) => {
    const problem = redirectUriProblem(uri, mobile);
    expect(problem).toMatch(reason);
    // The message names the URI.
    expect(problem?.startsWith(uri.length > 60 ? uri.slice(0, 57) : uri)).toBe(true);
  });

  test('when personal Microsoft accounts sign in, then a query string is refused; for work or school accounts it is accepted', () => {
    expect(
      redirectUriProblem('http://localhost/auth?x=1', rules('publicClient', 'AzureADandPersonalMicrosoftAccount')),
    ).toMatch(/query parameters in redirect URIs only for apps that sign in work or school accounts alone/);
    expect(
      redirectUriProblem('http://localhost/auth?x=1', rules('publicClient', 'AzureADMultipleOrgs')),
    ).toBeUndefined();
    expect(
      redirectUriProblem('https://app.contoso.com/auth?x=1', rules('web', 'AzureADandPersonalMicrosoftAccount')),
    ).toMatch(/query string/);
  });
});

describe('redirect URIs of web and single-page apps', () => {
  test.each(['web', 'spa'] as const)(
    'when a %s app gives a mobile or custom scheme, then it is refused and told to choose mobile and desktop',
    (platform) => {
      expect(redirectUriProblem('msauth.com.contoso.notes://auth', rules(platform))).toMatch(
        /must start with https:\/\/.*not on a (web|single-page) app.*choose mobile and desktop/,
      );
      expect(redirectUriProblem('com.contoso.app://callback', rules(platform))).toMatch(
        /Entra ID accepts other schemes only on mobile and desktop apps/,
      );
    },
  );

  test('when a web or single-page app uses http, then only localhost is accepted, and 127.0.0.1 for a web app', () => {
    expect(redirectUriProblem('http://localhost:3000/auth', rules('spa'))).toBeUndefined();
    expect(redirectUriProblem('http://127.0.0.1:3000/auth', rules('web'))).toBeUndefined();
    expect(redirectUriProblem('http://127.0.0.1:3000/auth', rules('spa'))).toMatch(/must start with https:\/\//);
    expect(redirectUriProblem('http://payroll.contoso.com/auth', rules('web'))).toMatch(
      /plain http is accepted only for http:\/\/localhost/,
    );
  });
});

describe('the list of redirect URIs', () => {
  test('when two localhost URIs differ only in their port, then the list is refused: Entra ignores the port', () => {
    expect(redirectUriListProblem(['http://localhost:3000/auth', 'http://localhost:4000/auth'])).toMatch(
      /http:\/\/localhost:3000\/auth and http:\/\/localhost:4000\/auth differ only in their port/,
    );
    expect(redirectUriListProblem(['http://localhost:3000/auth', 'http://localhost:3000/other'])).toBeUndefined();
    expect(redirectUriListProblem(['http://127.0.0.1:3000', 'http://127.0.0.1:4000'])).toBeUndefined();
  });
});
