import { objectId, sameObject } from '../../../src/domain/object-id';

describe('object ids', () => {
  test('when an id is written in any case or with spaces around it, then it is kept in lower case, and anything else is no id', () => {
    expect(objectId(' A1E5C0DE-0000-4000-8000-000000000020 ')).toBe('a1e5c0de-0000-4000-8000-000000000020');
    expect(objectId('megan@contoso.com')).toBeUndefined();
    expect(objectId(undefined)).toBeUndefined();
  });

  test('when two ids differ only in case, then they are the same object; a missing id is nobody, and Registrar is only itself', () => {
    expect(sameObject('A1E5C0DE-0000-4000-8000-000000000020', 'a1e5c0de-0000-4000-8000-000000000020')).toBe(true);
    expect(sameObject('a1e5c0de-0000-4000-8000-000000000020', 'a1e5c0de-0000-4000-8000-000000000021')).toBe(false);
    expect(sameObject(undefined, 'a1e5c0de-0000-4000-8000-000000000020')).toBe(false);
    expect(sameObject(undefined, undefined)).toBe(false);
    expect(sameObject('registrar', 'Registrar')).toBe(true);
    expect(sameObject('registrar', 'a1e5c0de-0000-4000-8000-000000000020')).toBe(false);
  });
});
