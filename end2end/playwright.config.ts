import { defineConfig } from '@playwright/test';

// The browser tests run the release build of steward on its own embedded
// PostgreSQL in a fresh data directory, and drive Debian's Chromium (never a
// downloaded browser: this machine reaches only the package registries).
const port = Number(process.env.STEWARD_E2E_PORT ?? 3137);
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [
    { name: 'with-javascript', testIgnore: /nojs\.spec\.ts/ },
    { name: 'without-javascript', testMatch: /nojs\.spec\.ts/, use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: `rm -rf .data && ../target/release/steward serve --data-dir .data --addr 127.0.0.1:${port} --site-root ../target/site`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { STEWARD_DEMO_PASSWORD: 'steward-demo-2026', RUST_LOG: 'warn' },
  },
});
