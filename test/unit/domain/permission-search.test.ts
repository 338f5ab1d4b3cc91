import { createPermissionIndex, type SearchablePermission } from '../../../src/domain/permission-search';
import { catalog, catalogIndex } from './fixtures';

const names = (query: string, options?: Parameters<typeof catalogIndex.search>[1]) =>
  catalogIndex.search(query, options).items.map((p) => `${p.value} ${p.type}`);

describe('searching the Microsoft Graph catalog', () => {
  test('when the name is typed exactly, then it comes first, then the names it begins, delegated before application', () => {
    expect(names('user.read', { limit: 7 })).toEqual([
      'User.Read Scope',
      'User.Read.All Scope',
      'User.Read.All Role',
      'User.ReadBasic.All Scope',
      'User.ReadWrite Scope',
      'User.ReadWrite.All Scope',
      'User.ReadWrite.All Role',
    ]);
  });

  test('when a word of the name is typed, then names with that word come before names that merely contain it', () => {
    const found = names('mail');

    expect(found.slice(0, 5)).toEqual([
      'Mail.Read Scope',
      'Mail.Read Role',
      'Mail.ReadWrite Role',
      'Mail.Send Scope',
      'Mail.Send Role',
    ]);
    expect(found.indexOf('email Scope')).toBeGreaterThan(4);
  });

  test('when a later word of the name is typed, then permissions with a word starting so come before description matches', () => {
    const found = names('send');

    expect(found.slice(0, 4)).toEqual([
      'ChannelMessage.Send Scope',
      'ChatMessage.Send Scope',
      'Mail.Send Scope',
      'Mail.Send Role',
    ]);
  });

  test('when words of the description are typed, then permissions whose display name or description hold them all are found', () => {
    expect(names('all mailboxes', { limit: 10 })).toEqual([
      'Calendars.Read Role',
      'Calendars.ReadWrite Role',
      'Mail.Read Role',
      'Mail.ReadWrite Role',
    ]);
    expect(names('SITE COLLECTIONS', { limit: 3 })).toContain('Sites.Read.All Scope');
  });

  test('when only application permissions are wanted, then no delegated one is returned', () => {
    const { items } = catalogIndex.search('user', { type: 'Role' });

    expect(items.length).toBeGreaterThan(0);
    expect(items.every((p) => p.type === 'Role')).toBe(true);
  });

  test('when more match than the limit, then the first ones are returned with the total count', () => {
    const { total, items } = catalogIndex.search('read', { limit: 5 });

    expect(items).toHaveLength(5);
    expect(total).toBeGreaterThan(30);
  });

  test('when the query is empty, then everything matches in name order', () => {
    const { total, items } = catalogIndex.search('  ', { limit: 3 });

    expect(total).toBe(catalog.length);
    expect(items.map((p) => p.value)).toEqual([
      'Application.Read.All',
      'Application.Read.All',
      'Application.ReadWrite.All',
    ]);
  });

  test('when nothing matches, then the result is empty with a total of zero', () => {
    expect(catalogIndex.search('teleport')).toEqual({ total: 0, items: [] });
  });

  test('when a permission is looked up by id or by name and type, then it is found whatever the case', () => {
    const mailSend = catalog.find((p) => p.value === 'Mail.Send' && p.type === 'Role')!;

    expect(catalogIndex.byId(mailSend.id.toUpperCase())).toBe(mailSend);
    expect(catalogIndex.byValue('mail.send', 'Role')).toBe(mailSend);
    expect(catalogIndex.byValue('Mail.Send', 'Scope')?.type).toBe('Scope');
    expect(catalogIndex.byValue('Mail.Teleport', 'Role')).toBeUndefined();
  });

  // Its speed is measured by `npm run bench` (bench/permission-search.ts), not by a timed test.
  test('when the catalog is as large as the real Graph one several times over, then searches still find the best match first', () => {
    const large: SearchablePermission[] = Array.from({ length: 80 }, (_, i) =>
      catalog.map((p) => ({ ...p, id: `${i}-${p.id}`, value: `${p.value}${i === 0 ? '' : `.V${i}`}` })),
    ).flat();
    const index = createPermissionIndex(large);

    expect(index.size).toBe(4800);
    expect(index.search('mail.send', { limit: 25 }).items[0]?.value).toBe('Mail.Send');
  });
});
