// npm run test:unit: the unit project alone. Its tests start no server and read no compiled code, so it runs
// without jest.config.js's global setup (a build of dist/, Azurite, the local tenant's certificate), which the
// integration, conformance and e2e projects need.
// jest reads CommonJS config files, so this one loads the shared settings the way jest.config.js is written.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: base.testTimeout,
  projects: base.projects.filter((project) => project.displayName === 'unit'),
};
