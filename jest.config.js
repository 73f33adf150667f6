// Tests are transpiled by SWC (no type-checking here: `npm run typecheck` does that once for the
// whole tree), which keeps a CDK test file at a few seconds instead of ~25 s with ts-jest.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60_000,
  setupFiles: ['<rootDir>/test/support/quiet-sdk.ts'],
  // A passing run fits on a screen: failures in full, then the summary. One file in detail:
  // npx jest <path> --reporters default (or --verbose).
  reporters: [['summary', { summaryThreshold: 0 }]],
};
