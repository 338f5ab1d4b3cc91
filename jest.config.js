/** @type {import('jest').Config} */
const common = {
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // adaptivecards@3's "main" is extensionless ESM that neither Node nor jest can load: use its UMD bundle.
  moduleNameMapper: { '^adaptivecards$': '<rootDir>/node_modules/adaptivecards/dist/adaptivecards.js' },
  // npm run bundle's output holds a second copy of package.json and node_modules.
  modulePathIgnorePatterns: ['<rootDir>/build/'],
};

module.exports = {
  // Integration and browser tests start servers; two workers suit the two-core CI machine.
  maxWorkers: 2,
  // Always run tests in worker processes, even a single file: workers start after the global setup and so
  // inherit NODE_EXTRA_CA_CERTS, which trusts the local tenant's development certificate.
  workerIdleMemoryLimit: '2GB',
  // Integration tests start servers and Azurite tables; browser tests set their own, longer timeout.
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testEnvironment: 'node', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'conformance',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/conformance/**/*.test.ts'],
    },
    { ...common, displayName: 'e2e', testEnvironment: 'node', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
