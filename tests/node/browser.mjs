// The browser entry of the package, as a Vite app uses it: `npx mock-rest-api init public/` (done by
// scripts/node.sh), then `startMock` from 'mock-rest-api/browser', in headless Chromium (Debian's,
// driven by playwright-core). Checks that the app's first fetch is mocked and that data written
// through the mock survives a reload.
//
//   node tests/node/browser.mjs APP_DIR TMP_DIR
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';

const [appDir, tmp] = process.argv.slice(2);
if (!appDir || !tmp) {
    console.error('usage: node tests/node/browser.mjs APP_DIR TMP_DIR');
    process.exit(2);
}

const server = await createServer({
    root: appDir,
    configFile: false,
    logLevel: 'warn',
    cacheDir: join(tmp, 'vite-cache'),
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
});
await server.listen();
const { port } = server.httpServer.address();
const base = `http://127.0.0.1:${port}`;
console.log(`vite dev server on ${base}`);

const profile = join(tmp, 'chromium-profile');
mkdirSync(profile, { recursive: true });
const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Chromium stays on loopback: no QUIC, no background or component traffic, no sync.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
context.setDefaultTimeout(30000);
let failed = false;
try {
    const page = await context.newPage();
    await page.goto(base);
    const first = await page.evaluate(() => window.app);
    console.log('first load:', JSON.stringify(first));
    assert.deepEqual(first, { status: 200, titles: ['Solaris'], controlled: true });
    assert.equal(await page.locator('#books li').first().textContent(), 'Solaris');

    const created = await page.evaluate(async () => {
        const res = await fetch('/api/books', { method: 'POST', body: JSON.stringify({ title: 'Dune' }) });
        return { status: res.status, body: await res.json() };
    });
    assert.equal(created.status, 200);
    assert.equal(created.body.title, 'Dune');

    await page.reload();
    const again = await page.evaluate(() => window.app);
    console.log('after a reload:', JSON.stringify(again));
    assert.deepEqual(again, { status: 200, titles: ['Solaris', 'Dune'], controlled: true });
    // What is not under the mock's prefixes goes to the dev server.
    const passthrough = await page.evaluate(async () => (await fetch('/index.html')).text());
    assert.match(passthrough, /<ul id="books">/);
    console.log('browser: the first fetch is mocked, data survives a reload, other requests pass through');
} catch (err) {
    failed = true;
    console.error(`browser: FAILED: ${err.stack || err.message}`);
} finally {
    await context.close();
    await server.close();
}
process.exit(failed ? 1 : 0);
