// One Jest project per package. Tests import sibling packages from source
// (moduleNameMapper), so `npm test` needs no build first.
const mapper = {
  '^@wsstack/wsproto$': '<rootDir>/../wsproto/src/index.ts',
  '^@wsstack/wsproto/internal$': '<rootDir>/../wsproto/src/internal.ts',
  '^@wsstack/simple-websocket$': '<rootDir>/../simple-websocket/src/index.ts',
  '^@wsstack/simple-websocket/internal$': '<rootDir>/../simple-websocket/src/internal.ts',
  '^@wsstack/express-sock$': '<rootDir>/../express-sock/src/index.ts',
  '^@wsstack/redis$': '<rootDir>/../redis/src/index.ts',
};

/** @param {string} name */
function project(name) {
  return {
    displayName: name,
    rootDir: `<rootDir>/packages/${name}`,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleNameMapper: mapper,
    transform: {
      // Type checking is `npm run lint`'s job (tsc -p test); here we only transpile.
      '^.+\\.ts$': ['ts-jest', { tsconfig: `<rootDir>/test/tsconfig.json`, diagnostics: false }],
    },
  };
}

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    ...['wsproto', 'simple-websocket', 'express-sock', 'redis'].map(project),
    // The docs' own checks (links, layering) are plain JavaScript.
    { displayName: 'docs', rootDir: '<rootDir>/docs', testEnvironment: 'node', testMatch: ['<rootDir>/test/**/*.test.js'], transform: {} },
  ],
  testTimeout: 30000,
};
