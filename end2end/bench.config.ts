import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// `bash script/bench-browser`: what a page costs a browser on a slow link
// (bytes transferred, first contentful paint, time to hydrated), first and
// repeat load. Prints figures; asserts nothing about them. Not part of the
// test suite.
export default defineConfig({
  ...base,
  testDir: './bench',
  timeout: 120_000,
  fullyParallel: false,
  workers: 1,
  projects: [{ name: 'bench', use: { viewport: { width: 1280, height: 800 } } }],
});
