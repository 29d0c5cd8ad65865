import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// Takes the README's screenshots (docs/screenshots/*.png) from a fresh demo:
// `bash script/screenshots`. Not part of the test suite.
export default defineConfig({
  ...base,
  testDir: './screenshots',
  fullyParallel: false,
  workers: 1,
  projects: [{ name: 'screenshots', use: { viewport: { width: 1280, height: 800 }, colorScheme: 'light' } }],
});
