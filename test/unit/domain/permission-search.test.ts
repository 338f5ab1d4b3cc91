import { createPermissionIndex, permissionKey, type SearchablePermission } from '../../../src/domain/permission-search';
import { catalog, catalogIndex } from './fixtures';

const names = (query: string, options?: Parameters<typeof catalogIndex.search>[1]) =>
  catalogIndex.search(query, options).items.map((p) => `${p.value} ${p.type}`);

describe('searching the Microsoft Graph catalog', () => {
  test('when the name is typed exactly, then it comes first, then the names it begins, delegated before application', () => {
    expect(names('user.read', { limit: 8 })).toEqual([
      'User.Read Scope',
      'User.Read.All Scope',
      'User.Read.All Role',
      'User.ReadBasic.All Scope',
      'User.ReadBasic.All Role',
      'User.ReadWrite Scope',
      'User.ReadWrite.All Scope',
      'User.ReadWrite.All Role',
    ]);
  });

  test('when a word of the name is typed, then names with that word come before names that merely contain it', () => {
    const found = names('mail', { limit: 100 });

    expect(found.slice(0, 5)).toEqual([
      'Mail.Read Scope',
      'Mail.Read Role',
      'Mail.Read.Shared Scope',
      'Mail.ReadBasic Scope',
      'Mail.ReadBasic Role',
    ]);
    expect(found.indexOf('email Scope')).toBeGreaterThan(found.indexOf('Mail.Send Role'));
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
    const { items } = catalogIndex.search('all mailboxes', { limit: 100 });

    expect(items.map((p) => `${p.value} ${p.type}`)).toEqual(
      expect.arrayContaining([
        'Calendars.Read Role',
        'Calendars.ReadWrite Role',
        'Mail.Read Role',
        'Mail.ReadWrite Role',
      ]),
    );
    for (const p of items) {
      const text = `${p.displayName ?? ''} ${p.description}`.toLowerCase();
      expect(text).toContain('all');
      expect(text).toContain('mailboxes');
    }
    expect(names('SITE COLLECTIONS', { limit: 10 })).toContain('Sites.Read.All Scope');
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
      'AccessReview.Read.All',
      'AccessReview.Read.All',
      'AccessReview.ReadWrite.All',
    ]);
  });

  test('when nothing matches, then the result is empty with a total of zero', () => {
    expect(catalogIndex.search('teleport')).toEqual({ total: 0, items: [] });
  });

  test('when an application role and a delegated scope share an id, then the key tells them apart and the bare id finds neither', () => {
    // Microsoft Graph gives User.Export.All's role and scope one id.
    const id = '405a51b5-8d8d-430b-9842-8be4b0e9f324';

    expect(catalogIndex.byKey(`Role:${id}`)).toMatchObject({ value: 'User.Export.All', type: 'Role' });
    expect(catalogIndex.byKey(`scope:${id.toUpperCase()}`)).toMatchObject({ value: 'User.Export.All', type: 'Scope' });
    expect(catalogIndex.byKey(id)).toBeUndefined();
    expect(catalogIndex.byKey(permissionKey({ id, type: 'Role' }))?.type).toBe('Role');
  });

  test('when a permission is looked up by id or by name and type, then it is found whatever the case', () => {
    const mailSend = catalog.find((p) => p.value === 'Mail.Send' && p.type === 'Role')!;

    expect(catalogIndex.byKey(mailSend.id.toUpperCase())).toBe(mailSend);
    expect(catalogIndex.byValue('mail.send', 'Role')).toBe(mailSend);
    expect(catalogIndex.byValue('Mail.Send', 'Scope')?.type).toBe('Scope');
    expect(catalogIndex.byValue('Mail.Teleport', 'Role')).toBeUndefined();
  });

  // Its speed is measured by `npm run bench` (bench/permission-search.ts), not by a timed test.
  test('when the catalog is the real Graph one four times over, then searches still find the best match first', () => {
    const large: SearchablePermission[] = Array.from({ length: 4 }, (_, i) =>
      catalog.map((p) => ({ ...p, id: `${i}-${p.id}`, value: `${p.value}${i === 0 ? '' : `.V${i}`}` })),
    ).flat();
    const index = createPermissionIndex(large);

    expect(index.size).toBe(4 * 1132);
    expect(index.search('mail.send', { limit: 25 }).items[0]?.value).toBe('Mail.Send');
  });
});
