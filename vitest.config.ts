import { defineConfig } from "vitest/config";

// Fast tiers first: `unit` needs nothing but Node, Python's supervisor parser and
// Terraform; `e2e` deploys for real to a local sshd with real supervisord.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["__tests__/unit/**/*.test.ts"],
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // How Debian's supervisord parser behaves (not this project): counted apart from product tests.
          name: "supervisord",
          include: ["__tests__/support/supervisord-parser.test.ts"],
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // The host runtime's Python tests (templates/jawsctl), run by one vitest test.
          name: "runtime",
          include: ["__tests__/runtime/**/*.test.ts"],
          testTimeout: 300_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["__tests__/host/**/*.test.ts", "__tests__/e2e/**/*.test.ts"],
          globalSetup: ["__tests__/host/global-setup.ts"],
          // One host and two shared Unix users: files run one after the other,
          // after the unit tier (groupOrder).
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
