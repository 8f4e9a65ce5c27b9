// The live homepage in headless Chromium: `/` open in a page, a POST made by another client (this
// script, with fetch) must appear in the page's "Latest changes" and "Resources" within 1 s, without
// a reload. The page is then screenshotted (the artifact) into the folder given.
//
//   node tests/node/homepage.mjs OUT_DIR COMMAND [ARGS...]
//
// COMMAND is a mock-rest-api server (the native binary, or the npm package's bin.js); it is started
// on a free port of 127.0.0.1 (--host 127.0.0.1 --port 0), and stopped by its PID at the end.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [out, command, ...args] = process.argv.slice(2);
if (!out || !command) {
    console.error('usage: node tests/node/homepage.mjs OUT_DIR COMMAND [ARGS...]');
    process.exit(2);
}
mkdirSync(out, { recursive: true });

/** Starts the server with `env` added; resolves to {server, base}. */
async function start(env = {}) {
    const server = spawn(command, [...args, '--host', '127.0.0.1', '--port', '0'], {
        env: { ...process.env, APP_NAME: 'live-homepage', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    const base = await new Promise((resolve, reject) => {
        let log = '';
        const timer = setTimeout(() => reject(new Error(`the server did not listen within 30 s:\n${log}`)), 30000);
        server.stderr.on('data', (chunk) => {
            log += chunk;
            const found = /listening on (\S+)/.exec(log);
            if (found) {
                clearTimeout(timer);
                resolve(found[1].startsWith('http') ? found[1] : `http://${found[1]}`);
            }
        });
        server.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${log}`)));
    });
    return { server, base };
}

const { server, base } = await start();
const guarded = await start({ API_TOKEN: 's3cret' });

let browser;
let failed = false;
try {
    browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${base}/`);
    await page.locator('#live', { hasText: 'Live' }).waitFor({ timeout: 5000 });

    // Another client writes; the page must show it within 1 s, without a reload.
    const answer = await fetch(`${base}/api/planets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Mercury' }),
    });
    const item = await answer.json();
    const posted = performance.now();
    await page.locator('#changes tr', { hasText: item._id }).waitFor({ timeout: 1000 });
    await page.locator('#counts tr', { hasText: 'planets' }).waitFor({ timeout: 1000 });
    const shown = performance.now() - posted;
    await page.selectOption('#type', 'planets');
    await page.locator('#items tr', { hasText: 'Mercury' }).waitFor({ timeout: 1000 });
    const navigations = requests.filter((url) => url === `${base}/`).length;
    if (navigations !== 1) {
        throw new Error(`the page was loaded ${navigations} times; it must update without a reload`);
    }
    const foreign = requests.filter((url) => !url.startsWith(base));
    if (foreign.length > 0) {
        throw new Error(`the page loaded from another origin: ${foreign.join(', ')}`);
    }
    const shot = join(out, 'homepage-live.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`ok   the homepage showed another client's POST ${shown.toFixed(0)} ms after its answer, without a reload (screenshot: ${shot})`);

    await page.close();

    // With API_TOKEN and no token in the page's URL, the feed refuses: the page stays the static one.
    const refused = await browser.newPage();
    await refused.goto(`${guarded.base}/`);
    await refused.locator('#live', { hasText: 'Static: the change feed is not available' }).waitFor({ timeout: 5000 });
    await refused.locator('#counts', { hasText: 'No resources yet.' }).waitFor({ timeout: 1000 });
    await refused.close();
    // With ?access_token= the page passes it to the feed (EventSource cannot send headers) and is live.
    const allowed = await browser.newPage();
    await allowed.goto(`${guarded.base}/?access_token=s3cret`);
    await allowed.locator('#live', { hasText: 'Live' }).waitFor({ timeout: 5000 });
    const made = await fetch(`${guarded.base}/api/moons`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' },
        body: JSON.stringify({ name: 'Io' }),
    });
    const moon = await made.json();
    await allowed.locator('#changes tr', { hasText: moon._id }).waitFor({ timeout: 1000 });
    await allowed.close();
    console.log('ok   with API_TOKEN: static without the token, live with ?access_token=');
} catch (err) {
    failed = true;
    console.error(`FAIL the live homepage: ${err.stack || err.message}`);
} finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
    guarded.server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
