/**
 * `unit` (plan and mocks, seconds), `e2e` (real Docker and Pulumi, minutes) and
 * `vm` (Swarm on 3 QEMU VMs, ~20 min; `npm run test:vm`, not yet in `npm test`).
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
