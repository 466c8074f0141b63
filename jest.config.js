/**
 * `unit` (plan and mocks, seconds), `e2e` (real Docker and Pulumi, minutes) and
 * `vm` (Swarm on 3 QEMU VMs, ~20 min; `npm run test:vm`; `npm test` runs it after e2e).
 */
const tsJest = { "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false } }] };

module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/unit/**/*.test.ts"],
    },
    {
      displayName: "e2e",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"],
    },
    {
      displayName: "vm",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/vm/**/*.test.ts"],
    },
  ],
};
