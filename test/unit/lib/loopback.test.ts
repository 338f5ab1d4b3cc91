import { isLoopbackHostHeader, isLoopbackUrl } from '../../../src/lib/loopback';

describe('loopback hosts', () => {
  test.each([
    'localhost',
    'localhost:3978',
    'LOCALHOST:1',
    '127.0.0.1',
    '127.0.0.1:3978',
    '127.1.2.3:80',
    '[::1]',
    '[::1]:3978',
  ])('when the Host header is %s, then it names this machine', (host) => {
    expect(isLoopbackHostHeader(host)).toBe(true);
  });

  test.each([
    undefined,
    '',
    'evil.example',
    'evil.example:3978',
    'localhost.evil.example',
    '127.0.0.1.evil.example',
    'evil.example@127.0.0.1',
    '[::2]:3978',
    '::1',
    '0.0.0.0:3978',
    'localhost:3978:1',
    'localhost/x',
  ])('when the Host header is %s, then it does not', (host) => {
    expect(isLoopbackHostHeader(host)).toBe(false);
  });

  test('when a URL is given, then only its host decides', () => {
    expect(isLoopbackUrl('https://127.0.0.1:8443')).toBe(true);
    expect(isLoopbackUrl('http://localhost:10002/devstoreaccount1')).toBe(true);
    expect(isLoopbackUrl('https://[::1]:8443/')).toBe(true);
    expect(isLoopbackUrl('https://graph.microsoft.com/?next=http://127.0.0.1')).toBe(false);
    expect(isLoopbackUrl('https://127.0.0.1.nip.io')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
});
