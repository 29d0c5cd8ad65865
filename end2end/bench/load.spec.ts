import { test, BrowserContext, CDPSession, Page } from '@playwright/test';
import { signIn, expectHydrated, PASSWORD } from '../tests/helpers';

// The network profile of the issue: 9 Mbit/s down, 60 ms latency (a phone
// or a slow office link), in Chromium's own emulation.
const PROFILE = {
  offline: false,
  latency: Number(process.env.BENCH_LATENCY_MS ?? 60),
  downloadThroughput: (Number(process.env.BENCH_DOWN_MBIT ?? 9) * 1_000_000) / 8,
  uploadThroughput: (Number(process.env.BENCH_UP_MBIT ?? 9) * 1_000_000) / 8,
};

// Records when the body gets data-hydrated (the app's effect that runs only
// in the browser), in the page's own clock.
const HYDRATION_PROBE = `
  new MutationObserver((_, observer) => {
    if (document.body && document.body.dataset.hydrated === 'true' && window.__hydratedAt === undefined) {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'], childList: true });
`;

interface Load {
  bytes: number;
  requests: number;
  wasmBytes: number;
  fcp: number;
  hydrated: number;
}

async function measure(page: Page, cdp: CDPSession, path: string): Promise<Load> {
  // Only what this load asks for: a request begun before it (a chunk still
  // arriving from the page before, say) is not counted.
  const started = new Set<string>();
  const sizes = new Map<string, number>();
  const urls = new Map<string, string>();
  const onStart = (e: any) => {
    started.add(e.requestId);
    urls.set(e.requestId, e.request.url);
  };
  const onFinished = (e: any) => {
    if (started.has(e.requestId)) sizes.set(e.requestId, e.encodedDataLength);
  };
  cdp.on('Network.requestWillBeSent', onStart);
  cdp.on('Network.loadingFinished', onFinished);
  await page.goto(path, { waitUntil: 'load' });
  await expectHydrated(page);
  await page.waitForFunction(() => (window as any).__hydratedAt !== undefined);
  // Let late requests (preloads, chunks) finish before counting.
  await page.waitForLoadState('networkidle');
  cdp.off('Network.requestWillBeSent', onStart);
  cdp.off('Network.loadingFinished', onFinished);
  const timing = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    hydrated: (window as any).__hydratedAt as number,
  }));
  let bytes = 0;
  let wasmBytes = 0;
  for (const [id, size] of sizes) {
    // BENCH_LIST=1 prints every response and its size on the wire.
    if (process.env.BENCH_LIST) console.log(`    ${String(size).padStart(8)}  ${urls.get(id) ?? id}`);
    bytes += size;
    if ((urls.get(id) ?? '').endsWith('.wasm')) wasmBytes += size;
  }
  return { bytes, requests: sizes.size, wasmBytes, ...timing };
}

async function emulate(context: BrowserContext, page: Page): Promise<CDPSession> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', PROFILE);
  return cdp;
}

function line(name: string, kind: string, l: Load) {
  const kb = (n: number) => (n / 1024).toFixed(1).padStart(8);
  console.log(
    `${name.padEnd(14)} ${kind.padEnd(7)} ${kb(l.bytes)} KB ${String(l.requests).padStart(4)} req  wasm ${kb(l.wasmBytes)} KB  FCP ${l.fcp.toFixed(0).padStart(5)} ms  hydrated ${l.hydrated.toFixed(0).padStart(5)} ms`,
  );
}

async function firstAndRepeat(context: BrowserContext, page: Page, name: string, path: string, cold = true) {
  const cdp = await emulate(context, page);
  if (cold) await cdp.send('Network.clearBrowserCache');
  line(name, 'first', await measure(page, cdp, path));
  line(name, 'repeat', await measure(page, cdp, path));
  await cdp.send('Network.emulateNetworkConditions', { ...PROFILE, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.detach();
}

/** Signs in without loading any page: the session cookie only. */
async function signInByRequest(context: BrowserContext, baseURL: string) {
  const answer = await context.request.post('/api/sign_in', {
    form: { tenant: 'acme', email: 'olivia@acme.test', password: PASSWORD, next: '' },
    headers: { Origin: baseURL },
    maxRedirects: 0,
  });
  if (answer.status() >= 400) throw new Error(`sign-in answered ${answer.status()}`);
}

test('full page loads on a slow link', async ({ browser }) => {
  console.log(
    `profile: ${(PROFILE.downloadThroughput * 8) / 1e6} Mbit/s down, ${PROFILE.latency} ms latency (Chromium's emulation)`,
  );
  console.log('page           load     transferred  requests  wasm (compressed)   first paint   hydrated');

  // Nobody signed in: the sign-in page.
  {
    const context = await browser.newContext();
    await context.addInitScript(HYDRATION_PROBE);
    const page = await context.newPage();
    await firstAndRepeat(context, page, 'sign-in', '/login');
    await context.close();
  }

  // Signed in as an owner (at full speed), then the cache emptied: the
  // users list and a role's page, first and repeat.
  for (const [name, path] of [
    ['users list', '/users'],
    ['role page', 'role'],
  ]) {
    const context = await browser.newContext();
    await context.addInitScript(HYDRATION_PROBE);
    const page = await context.newPage();
    await signIn(page, 'acme', 'olivia@acme.test');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    await page.waitForLoadState('networkidle');
    let target = path;
    if (path === 'role') {
      await page.goto('/roles');
      await page.waitForLoadState('networkidle');
      target = (await page.getByTestId('role-row').first().getByRole('link').first().getAttribute('href')) ?? '/roles';
    }
    await firstAndRepeat(context, page, name, target);
    await context.close();
  }

  // A first visit as it happens: the sign-in page (cold, at full speed
  // here), then the first console page, which needs only its own part of
  // the bundle on top of what the sign-in page brought.
  {
    const context = await browser.newContext();
    await context.addInitScript(HYDRATION_PROBE);
    const page = await context.newPage();
    await page.goto('/login');
    await expectHydrated(page);
    await page.waitForLoadState('networkidle');
    await signInByRequest(context, new URL(page.url()).origin);
    await firstAndRepeat(context, page, 'users, 2nd', '/users', false);
    await context.close();
  }
});
