// Stand-alone config for the test-host tier:
//   npx vitest run --config __tests__/host/vitest.host.config.ts
// The root config should wire the same globalSetup into its e2e project instead.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["__tests__/host/**/*.test.ts"],
    globalSetup: ["__tests__/host/global-setup.ts"],
    // One host, two shared Unix users: files must not run concurrently.
    fileParallelism: false,
    pool: "forks",
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
