import { runSetup } from '../src/setup/setup-command';

/** `npm run setup:permissions -- --identity <id> [--directory-roles] [--dry-run]`: see --help and infra/README.md. */
// eslint-disable-next-line no-restricted-properties -- a command-line tool: it reads its few variables (see --help) once, here
const env = process.env;

runSetup(process.argv.slice(2), env, { out: (line) => console.log(line), err: (line) => console.error(line) }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
