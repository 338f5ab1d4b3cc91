/**
 * The Agents Playground's config, for the first Playground (Alex) and a second one as another demo person: the
 * Playground exits without a word unless `users` holds exactly five people besides the current one.
 */
import { alex, demoUsers } from '../../../src/local/demo-identities';
import { playgroundConfig } from '../../../src/local/playground';
import { personNamed } from '../../../src/local/playground-main';

type Config = { currentUser: { aadObjectId: string }; users: Array<{ aadObjectId: string }> };

describe('the Playground config', () => {
  test.each([alex, ...demoUsers].map((p) => [p.name, p] as const))(
    'when %s is the current user, then the five others are the users',
    (_name, person) => {
      const config = playgroundConfig(person) as unknown as Config;

      expect(config.currentUser.aadObjectId).toBe(person.aadObjectId);
      expect(config.users).toHaveLength(5);
      expect(config.users.map((u) => u.aadObjectId)).not.toContain(person.aadObjectId);
    },
  );

  test('when no one is named, then Alex Wilber is the current user', () => {
    expect((playgroundConfig() as unknown as Config).currentUser.aadObjectId).toBe(alex.aadObjectId);
  });

  test('when a person is named by first name in any case, then it is that person; an unknown name lists who may be named', () => {
    expect(personNamed('MEGAN')).toBe(demoUsers[0]);
    expect(() => personNamed('mallory')).toThrow(/megan/);
    expect(() => personNamed(undefined)).toThrow(/npm run playground -- <first name>/);
  });
});
