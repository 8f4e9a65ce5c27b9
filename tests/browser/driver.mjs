// Drives headless Chromium (Debian's, through playwright-core) against the mock's service worker,
// served by a static file server: every conformance case through fetch() in the demo page
// (runner.js), then what is the browser's own: the first fetch after startMock, passthrough,
// persistence across a reload, a stopped worker, a new registration and a browser restart, two
// tabs, a CRUD round trip in the demo with a screenshot, and round-trip times.
//
//   node tests/browser/driver.mjs --base http://127.0.0.1:PORT --tmp DIR --server-log FILE
//
// The site at --base is web/dist plus tests/browser/site (scripts/browser.sh builds it); FILE is the
// static server's log, to see which requests reached it. Chromium's profile, the screenshot and
// anything else it writes go under DIR. Prints `browser: N passed, M failed, K skipped` and exits 1
// when something failed.

import { chromium } from 'playwright-core';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const args = Object.fromEntries(
    process.argv.slice(2).reduce((pairs, arg, n, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[n + 1]]] : pairs), []),
);
for (const required of ['base', 'tmp', 'server-log']) {
    if (!args[required]) {
        console.error(`usage: node tests/browser/driver.mjs --base URL --tmp DIR --server-log FILE (missing --${required})`);
        process.exit(2);
    }
}
const base = args.base.replace(/\/$/, '');
const tmp = args.tmp;
const otherOrigin = base.replace('127.0.0.1', 'localhost');
const casesDir = join(root, 'tests', 'cases');
const profile = join(tmp, 'profile');
mkdirSync(profile, { recursive: true });

// Chromium stays on loopback: no QUIC, no background or component traffic, no sync.
const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

async function launch(dir = profile) {
    const context = await chromium.launchPersistentContext(dir, {
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1200, height: 720 },
    });
    context.setDefaultTimeout(30000);
    return context;
}

const results = [];

function report(name, status, message = '', notes = []) {
    results.push({ name, status, message, notes });
    const mark = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' }[status];
    console.log(`${mark} ${name}${status === 'pass' ? '' : `: ${message}`}`);
    for (const note of notes) {
        console.log(`       - ${note}`);
    }
}

async function check(name, test) {
    try {
        await test();
        report(name, 'pass');
    } catch (err) {
        report(name, 'fail', err && err.stack ? err.stack.split('\n').slice(0, 4).join('\n    ') : String(err));
    }
}

function assert(condition, message) {
    if (!condition) {
        throw new Error(message);
    }
}

/** Opens a page of the site and, for the demo, waits until it started the mock and listed the data. */
async function open(context, path = '/index.html', page = null) {
    page = page || (await context.newPage());
    page.on('pageerror', (err) => console.log(`  (page error on ${path}: ${err.message})`));
    await page.goto(base + path);
    if (path === '/index.html') {
        await page.waitForFunction(() => document.body.dataset.ready);
        const ready = await page.evaluate(() => document.body.dataset.ready);
        assert(ready === 'true', `the demo did not start: ${await page.textContent('#mode')}`);
    }
    return page;
}

/** fetch() in the page; returns status, headers (lower-case names) and body text. */
function call(page, method, path, body, headers = {}) {
    return page.evaluate(
        async ([method, path, body, headers]) => {
            const response = await fetch(path, { method, body, headers, cache: 'no-store' });
            return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
        },
        [method, path, body, headers],
    );
}

async function json(page, method, path, body, headers) {
    const response = await call(page, method, path, body, headers);
    return { ...response, json: JSON.parse(response.text) };
}

/** Stops every service worker of the page's browser, as the browser does when they are idle, and waits until they are. */
async function stopWorkers(page) {
    const cdp = await page.context().newCDPSession(page);
    const running = new Map();
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
        for (const version of versions) running.set(version.versionId, version.runningStatus);
    });
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    for (let n = 0; n < 100 && [...running.values()].some((status) => status !== 'stopped'); n++) {
        await page.waitForTimeout(50);
    }
    assert(running.size > 0 && [...running.values()].every((status) => status === 'stopped'), `workers: ${JSON.stringify([...running])}`);
    await cdp.detach();
}

/** The requests the static server logged, as "METHOD /path?query". */
function serverRequests() {
    return readFileSync(args['server-log'], 'utf8')
        .split('\n')
        .map((line) => /"([A-Z]+) (\S+) HTTP\/[\d.]+"/.exec(line))
        .filter(Boolean)
        .map((m) => `${m[1]} ${m[2]}`);
}

const PREFIXES = ['/api/', '/health', '/__admin/', '/openapi.json'];
const underPrefix = (path) =>
    PREFIXES.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`)));
/** Requests under a prefix that the tests send around the mock on purpose (navigations, other origins). */
const expectedAtServer = new Set();

// The demo's own options (web/index.html), to start it again as the demo does.
const DEMO = {
    namespace: 'demo',
    appName: 'mock-rest-api demo',
    seed: { people: [{ name: 'Ada Lovelace', role: 'Analyst' }, { name: 'Grace Hopper', role: 'Rear Admiral' }] },
};

// ---- 1. a fresh browser: the first fetch after startMock ------------------------------------------

let context = await launch();
const firstPage = context.pages()[0] || (await context.newPage());

await check('browser: the first fetch after startMock resolves is mocked (a new profile, no worker yet)', async () => {
    await open(context, '/app.html', firstPage);
    const seen = await firstPage.evaluate(async () => {
        const before = navigator.serviceWorker.controller;
        const { startMock } = await import('/mock.js');
        return startMock({ namespace: 'first', seed: { greetings: [{ text: 'hello' }] } }).then(async () => {
            const response = await fetch('/api/greetings');
            return { before: Boolean(before), status: response.status, body: await response.text() };
        });
    });
    assert(!seen.before, 'the page was controlled before startMock');
    assert(seen.status === 200 && /"text":"hello"/.test(seen.body), `the first fetch got ${seen.status} ${seen.body}`);
});

// ---- 2. every conformance case, in the demo page ---------------------------------------------------

const demo = await open(context);
await demo.addScriptTag({ path: join(here, 'runner.js') });
const fixtures = {};
const files = readdirSync(casesDir).filter((name) => name.endsWith('.json')).sort();
// The hosts that steps address with a `Host` header: the runner sends those steps there, so the
// worker mocks those origins too.
const origins = new Set();
for (const file of files) {
    for (const spec of JSON.parse(readFileSync(join(casesDir, file), 'utf8'))) {
        for (const step of spec.steps) {
            for (const [name, value] of Object.entries(step.request.headers || {})) {
                if (name.toLowerCase() === 'host') origins.add(`http://${value}`);
            }
        }
    }
}
const run = Date.now().toString(36);
let caseNumber = 0;
const conformanceStart = Date.now();
for (const file of files) {
    const text = readFileSync(join(casesDir, file), 'utf8');
    const cases = JSON.parse(text);
    for (const [index, spec] of cases.entries()) {
        const name = `${basename(file, '.json')}: ${spec.name}`;
        for (const [setting, value] of Object.entries(spec.env || {})) {
            if (setting === 'DATA_FILE' || setting === 'RULES' || setting === 'OPENAPI') {
                fixtures[value] = readFileSync(join(casesDir, value), 'utf8');
            }
        }
        const outcome = await demo.evaluate(
            ([text, index, options]) => window.conformance.run(text, index, options),
            [text, index, { namespace: `case-${run}-${caseNumber++}`, fixtures, origins: [...origins] }],
        );
        report(name, outcome.status, outcome.message, outcome.skipped);
    }
}
const conformanceCount = caseNumber;
console.log(`(${conformanceCount} conformance cases in ${((Date.now() - conformanceStart) / 1000).toFixed(1)} s)`);

// ---- 3. the browser's own --------------------------------------------------------------------------

// The demo page again, in its own namespace, with the default prefixes (the cases moved this page
// to theirs, and had the worker mock every path, the page's own scripts included): a new version of
// the worker replaces the cases' one.
await demo.evaluate(async (options) => (await import('/mock.js')).startMock(options), DEMO);
await open(context, '/index.html', demo);

await check('browser: requests outside the prefixes, and navigations, reach the static server untouched', async () => {
    const file = await call(demo, 'GET', '/hello.txt');
    assert(file.status === 200 && file.text === readFileSync(join(here, 'site', 'hello.txt'), 'utf8'), `/hello.txt: ${file.status} ${file.text}`);
    assert(/SimpleHTTP/.test(file.headers.server || ''), `/hello.txt did not come from the static server: ${JSON.stringify(file.headers)}`);
    for (const path of ['/apix/people', '/api', '/healthz', '/not-mocked/at/all']) {
        const response = await call(demo, 'GET', path);
        assert(response.status === 404 && /SimpleHTTP/.test(response.headers.server || ''), `${path}: ${response.status} ${JSON.stringify(response.headers)}`);
    }
    const navigation = await context.newPage();
    expectedAtServer.add('GET /api/people');
    const loaded = await navigation.goto(`${base}/api/people`);
    assert(loaded.status() === 404 && /SimpleHTTP/.test(loaded.headers().server || ''), `navigating to /api/people: ${loaded.status()}`);
    await navigation.close();
    // Another origin is not mocked unless configured: the request reaches the server.
    expectedAtServer.add('GET /health?other-origin');
    await demo.evaluate((url) => fetch(url, { mode: 'no-cors' }).catch(() => null), `${otherOrigin}/health?other-origin`);
    const logged = serverRequests();
    for (const wanted of ['GET /hello.txt', 'GET /apix/people', 'GET /api', 'GET /healthz', 'GET /api/people', 'GET /health?other-origin']) {
        assert(logged.includes(wanted), `the static server did not see ${wanted}`);
    }
});

await check('browser: page links (Link) point at the page\'s own origin', async () => {
    const response = await call(demo, 'GET', '/api/people?_page=1&_limit=1');
    assert(response.status === 200, `status ${response.status}`);
    const origin = new URL(base).origin;
    assert(
        (response.headers.link || '').startsWith(`<${origin}/api/people?_page=1&_limit=1>; rel="first"`),
        `link: ${response.headers.link}`,
    );
});

let kept;
await check('browser: data survives a reload', async () => {
    kept = (await json(demo, 'POST', '/api/people', '{"name":"Reloaded","n":1.10}')).json;
    await demo.reload();
    await demo.waitForFunction(() => document.body.dataset.ready === 'true');
    const again = await call(demo, 'GET', `/api/people/${kept._id}`);
    assert(again.status === 200 && again.text === `{"name":"Reloaded","n":1.10,"_id":"${kept._id}"}`, `after the reload: ${again.status} ${again.text}`);
});

await check('browser: two tabs see the same data', async () => {
    const second = await open(context);
    const made = (await json(demo, 'POST', '/api/people', JSON.stringify({ name: 'From tab 1' }))).json;
    const seen = await call(second, 'GET', `/api/people/${made._id}`);
    assert(seen.status === 200, `tab 2 does not see tab 1's item: ${seen.status}`);
    assert((await call(second, 'DELETE', `/api/people/${made._id}`)).status === 200, 'tab 2 could not delete');
    const gone = await call(demo, 'GET', `/api/people/${made._id}`);
    assert(gone.status === 404, `tab 1 still sees the item tab 2 deleted: ${gone.status}`);
    await second.close();
});

await check('browser: an EventSource in one tab gets the changes another tab makes (the worker streams the feed)', async () => {
    const second = await open(context);
    // Tab 2 listens with the browser's own EventSource, through the worker.
    await second.evaluate(() => {
        window.seen = [];
        window.feed = new EventSource('/__admin/events?type=people');
        window.feed.addEventListener('created', (e) => window.seen.push(JSON.parse(e.data)));
        return new Promise((resolve) => (window.feed.onopen = resolve));
    });
    const made = (await json(demo, 'POST', '/api/people', JSON.stringify({ name: 'Announced' }))).json;
    await second.waitForFunction((id) => window.seen.some((d) => d.id === id), made._id, { timeout: 5000 });
    const data = await second.evaluate(() => window.seen[window.seen.length - 1]);
    assert(data.type === 'people' && data.item.name === 'Announced', `tab 2 got ${JSON.stringify(data)}`);
    await second.evaluate(() => window.feed.close());
    await json(demo, 'DELETE', `/api/people/${made._id}`);
    await second.close();
});

await check('browser: a new version of the worker takes over open pages without a reload; data kept', async () => {
    const second = await open(context);
    const before = await second.evaluate(() => navigator.serviceWorker.controller.scriptURL);
    // Tab 1 starts the mock with one more prefix: a new script URL, so a new version of the worker.
    const seen = await demo.evaluate(async ([options, id]) => {
        const { startMock, DEFAULT_PREFIXES } = await import('/mock.js');
        await startMock({ ...options, prefixes: [...DEFAULT_PREFIXES, '/extra/'] });
        const extra = await fetch('/extra/path');
        const item = await fetch(`/api/people/${id}`);
        return {
            url: navigator.serviceWorker.controller.scriptURL,
            extra: `${extra.status} ${extra.headers.get('content-type')}`,
            item: item.status,
        };
    }, [DEMO, kept._id]);
    assert(seen.url !== before && seen.url.includes('extra'), `tab 1 is controlled by ${seen.url}`);
    assert(seen.extra === '404 application/json', `the new prefix is not mocked: ${seen.extra}`);
    assert(seen.item === 200, `tab 1 lost the data: ${seen.item}`);
    // Tab 2 did nothing: the new worker controls it now, and it is still in its namespace.
    await second.waitForFunction((url) => navigator.serviceWorker.controller.scriptURL !== url, before);
    const again = await call(second, 'GET', `/api/people/${kept._id}`);
    assert(again.status === 200, `tab 2 after the new worker took over: ${again.status} ${again.text}`);
    await demo.evaluate(async (options) => (await import('/mock.js')).startMock(options), DEMO);
    await second.close();
});

await check('browser: the worker waits out a delay while other requests go on', async () => {
    const timing = await demo.evaluate(async () => {
        const t0 = performance.now();
        const slow = fetch('/api/people', { headers: { 'X-Mock-Delay': '400' } }).then(() => performance.now() - t0);
        const fast = fetch('/health').then(() => performance.now() - t0);
        return { slow: await slow, fast: await fast };
    });
    assert(timing.slow >= 400, `the delayed answer came after ${timing.slow} ms`);
    assert(timing.fast < 300, `a request beside the delayed one took ${timing.fast} ms`);
});

await check('browser: data survives the browser stopping the worker (as when idle); the journal starts over', async () => {
    const other = { 'X-Mock-Namespace': 'cleared' };
    await call(demo, 'POST', '/api/things', '{"n":1}', other);
    assert((await call(demo, 'POST', '/__admin/reset', undefined, other)).status === 200, 'reset failed');
    await call(demo, 'GET', '/api/people');
    await stopWorkers(demo);
    const again = await call(demo, 'GET', `/api/people/${kept._id}`);
    assert(again.status === 200 && again.text.includes('"n":1.10'), `after the worker stopped: ${again.status} ${again.text}`);
    const journal = (await json(demo, 'GET', '/__admin/requests')).json;
    assert(journal.length === 1, `the journal should hold only the request since the restart: ${JSON.stringify(journal)}`);
    const cleared = await call(demo, 'GET', '/api/things', undefined, other);
    assert(cleared.text === '[]', `a reset namespace came back with ${cleared.text}`);
});

await check('browser: data survives unregistering the worker and registering it again', async () => {
    const count = await demo.evaluate(async () => {
        const registrations = await navigator.serviceWorker.getRegistrations();
        await Promise.all(registrations.map((registration) => registration.unregister()));
        return registrations.length;
    });
    assert(count === 1, `${count} registrations`);
    const after = await demo.evaluate(async ([options, id]) => {
        const { startMock } = await import('/mock.js');
        await startMock(options);
        const response = await fetch(`/api/people/${id}`);
        return { status: response.status, registrations: (await navigator.serviceWorker.getRegistrations()).length };
    }, [DEMO, kept._id]);
    assert(after.status === 200 && after.registrations === 1, `after registering again: ${JSON.stringify(after)}`);
});

await context.close();
context = await launch();

await check('browser: data survives a browser restart', async () => {
    const page = await open(context, '/index.html', context.pages()[0]);
    const again = await call(page, 'GET', `/api/people/${kept._id}`);
    assert(again.status === 200, `after the restart: ${again.status} ${again.text}`);
});

await check('browser: a hard reload (which skips the worker) is claimed again by startMock', async () => {
    const page = context.pages()[0];
    const cdp = await context.newCDPSession(page);
    await Promise.all([page.waitForEvent('load'), cdp.send('Page.reload', { ignoreCache: true })]);
    await cdp.detach();
    await page.waitForFunction(() => document.body.dataset.ready);
    assert((await page.evaluate(() => document.body.dataset.ready)) === 'true', `the demo did not start: ${await page.textContent('#mode')}`);
    const again = await call(page, 'GET', `/api/people/${kept._id}`);
    assert(again.status === 200, `after the hard reload: ${again.status} ${again.text}`);
});

let screenshot = null;
await check('browser: the demo page does a CRUD round trip (screenshot not blank)', async () => {
    const page = context.pages()[0];
    await page.fill('#name', 'Katherine Johnson');
    await page.fill('#role', 'Mathematician');
    await page.click('#save');
    const row = page.locator('#people tr', { hasText: 'Katherine Johnson' });
    await row.waitFor();
    await row.locator('button.edit').click();
    await page.fill('#role', 'Space scientist');
    await page.click('#save');
    await page.locator('#people tr', { hasText: 'Space scientist' }).waitFor();
    await page.locator('#people tr', { hasText: 'Grace Hopper' }).locator('button.delete').click();
    await page.locator('#people tr', { hasText: 'Grace Hopper' }).waitFor({ state: 'detached' });
    // The journal is read after the list: wait for it rather than race it.
    await page.locator('#journal', { hasText: 'DELETE' }).waitFor({ timeout: 5000 }).catch(() => {});
    const journal = await page.locator('#journal').innerText();
    for (const method of ['POST', 'PUT', 'DELETE']) {
        assert(journal.includes(method), `the journal shows no ${method}: ${journal}`);
    }
    screenshot = join(tmp, 'demo.png');
    const png = await page.screenshot({ path: screenshot, fullPage: true });
    // Decoded by the browser itself: the luminance spread and the colours of the picture.
    const stats = await page.evaluate(async (data) => {
        const image = new Image();
        image.src = `data:image/png;base64,${data}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(image, 0, 0);
        const pixels = ctx.getImageData(0, 0, image.width, image.height).data;
        let sum = 0;
        let squares = 0;
        const colours = new Set();
        for (let i = 0; i < pixels.length; i += 4) {
            const y = 0.2126 * pixels[i] + 0.7152 * pixels[i + 1] + 0.0722 * pixels[i + 2];
            sum += y;
            squares += y * y;
            colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
        }
        const n = pixels.length / 4;
        return { width: image.width, height: image.height, stddev: Math.sqrt(squares / n - (sum / n) ** 2), colours: colours.size };
    }, png.toString('base64'));
    console.log(`       screenshot ${screenshot}: ${stats.width}x${stats.height}, luminance stddev ${stats.stddev.toFixed(1)}, ${stats.colours} colours`);
    assert(stats.stddev > 10 && stats.colours > 50, `the screenshot looks blank: ${JSON.stringify(stats)}`);
});

await check('browser: seed items without ids get the same ids when the worker starts again, reset included', async () => {
    const page = context.pages()[0];
    // `default`: the page's own namespace (the demo's), as no header is.
    const demoNamespace = { 'X-Mock-Namespace': 'default' };
    const seedIds = async () => {
        await call(page, 'POST', '/__admin/reset', undefined, demoNamespace);
        const people = (await json(page, 'GET', '/api/people', undefined, demoNamespace)).json;
        return people.map((person) => person._id);
    };
    const before = await seedIds();
    assert(before.length === 2, `the demo's seed: ${JSON.stringify(before)}`);
    await stopWorkers(page);
    const after = await seedIds();
    assert(JSON.stringify(after) === JSON.stringify(before), `ids before ${before}, after the worker started again ${after}`);
});
await check('browser: a write IndexedDB refuses is 503 and not kept (the site data cleared under the worker)', async () => {
    const page = context.pages()[0];
    const failing = { 'X-Mock-Namespace': 'failing' };
    assert((await call(page, 'POST', '/api/kept', '{"n":1}', failing)).status === 200, 'the first write failed');
    // The worker's connection to the namespace's database closes when a page deletes the database
    // (`failing`, made within the demo's namespace: docs/browser.md#namespaces).
    await page.evaluate(
        () =>
            new Promise((resolve, reject) => {
                const request = indexedDB.deleteDatabase('mock-rest-api@failing:demo');
                request.onsuccess = resolve;
                request.onerror = () => reject(request.error);
                request.onblocked = () => reject(new Error('blocked'));
            }),
    );
    const refused = await call(page, 'POST', '/api/lost', '{"n":2}', failing);
    assert(
        refused.status === 503 && refused.text.includes('not saved') && refused.headers['access-control-allow-origin'] === '*',
        `the refused write: ${refused.status} ${refused.text}`,
    );
    // The engine was dropped with what it had not stored; it is rebuilt from IndexedDB, now empty, so
    // it starts again from the seed of the page's namespace (the demo's people), as a new one does.
    const snapshot = await call(page, 'GET', '/__admin/snapshot', undefined, failing);
    const types = snapshot.status === 200 ? Object.keys(JSON.parse(snapshot.text)) : [];
    assert(types.join() === 'people', `after the refused write: ${snapshot.status} ${snapshot.text}`);
    assert((await call(page, 'POST', '/api/kept', '{"n":3}', failing)).status === 200, 'writes do not work again');
});

await check('browser: namespaces are isolated', async () => {
    const page = context.pages()[0];
    const a = { 'X-Mock-Namespace': 'isolated-a' };
    const b = { 'X-Mock-Namespace': 'isolated-b' };
    const made = (await json(page, 'POST', '/api/things', '{"in":"a"}', a)).json;
    assert((await call(page, 'GET', `/api/things/${made._id}`, undefined, b)).status === 404, 'isolated-b sees isolated-a');
    assert((await call(page, 'GET', '/api/things', undefined, b)).text === '[]', 'isolated-b lists items');
    assert((await call(page, 'GET', `/api/things/${made._id}`, undefined, a)).status === 200, 'isolated-a lost its item');
    // A new one starts from the page's seed (the demo's people); `default` is the page's own namespace.
    const seeded = (await json(page, 'GET', '/api/people', undefined, b)).json;
    assert(seeded.length === 2, `isolated-b did not start from the demo's seed: ${JSON.stringify(seeded)}`);
    const own = (await call(page, 'GET', '/api/people')).text;
    const named = (await call(page, 'GET', '/api/people', undefined, { 'X-Mock-Namespace': 'default' })).text;
    assert(own === named, `X-Mock-Namespace: default is not the page's namespace: ${named} against ${own}`);
    const health = (await json(page, 'GET', '/health')).json;
    const listed = JSON.stringify((health.namespaces || []).map((each) => each.name));
    assert(listed.includes('"default"') && listed.includes('"isolated-a"'), `/health lists ${listed}`);
});

let timings = null;
await check('browser: round trips through the worker (timed)', async () => {
    const page = context.pages()[0];
    timings = await page.evaluate(async () => {
        const made = await (await fetch('/api/timing', { method: 'POST', body: '{"n":1}' })).json();
        const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
        const time = async (count, request) => {
            const times = [];
            for (let n = 0; n < count; n++) {
                const t0 = performance.now();
                const response = await request(n);
                await response.arrayBuffer();
                times.push(performance.now() - t0);
            }
            return median(times);
        };
        await time(50, () => fetch(`/api/timing/${made._id}`));
        return {
            get: await time(300, () => fetch(`/api/timing/${made._id}`)),
            post: await time(100, (n) => fetch('/api/timing', { method: 'POST', body: `{"n":${n}}` })),
            list: await time(100, () => fetch('/api/timing?_limit=10&_page=1')),
            file: await time(100, () => fetch('/hello.txt', { cache: 'no-store' })),
        };
    });
    // The engine's own share: the same wasm, called in the page without the worker.
    await page.addScriptTag({ url: '/mock_rest_web.js' });
    await page.addScriptTag({ url: '/mock-wire.js' });
    timings.engine = await page.evaluate(async () => {
        /* global wasm_bindgen */
        await wasm_bindgen({ module_or_path: '/mock_rest_web_bg.wasm' });
        const endpoint = new wasm_bindgen.MockEndpoint({}, undefined, undefined, undefined, false);
        const tags = wasm_bindgen.wireLayout().tags;
        const encoder = new TextEncoder();
        const decoder = new TextDecoder();
        const at = wasm_bindgen.wireRequest(64 * 1024);
        // As the worker sends a request on the wire and reads the answer.
        const send = (method, target, headers, body) => {
            const head = encoder.encode(headers.length ? `${method}\n${target}\n${headers.join('\n')}` : `${method}\n${target}`);
            const memory = new Uint8Array(wasm_bindgen.wireMemory().buffer);
            memory.set(head, at);
            memory.set(body, at + head.length);
            const answer = endpoint.handleWire(head.length + body.length, head.length);
            const bytes = new Uint8Array(wasm_bindgen.wireMemory().buffer);
            return self.mockWire.decode(bytes, answer, tags, (from, to) => decoder.decode(bytes.subarray(from, to)));
        };
        const made = send('POST', '/api/timing', [], encoder.encode('{"n":1}'));
        const id = JSON.parse(decoder.decode(made.body))._id;
        // A page's clock is coarse (0.1 ms), so the mean of a batch.
        const t0 = performance.now();
        for (let n = 0; n < 5000; n++) {
            send('GET', `/api/timing/${id}`, ['accept', '*/*', 'host', location.host], new Uint8Array(0));
        }
        const mean = (performance.now() - t0) / 5000;
        endpoint.free();
        return mean;
    });
    console.log(
        `       median round trip through the worker: GET item ${timings.get.toFixed(2)} ms, GET list ${timings.list.toFixed(2)} ms, ` +
            `POST (committed to IndexedDB first) ${timings.post.toFixed(2)} ms; the engine's share of a GET ${(timings.engine * 1000).toFixed(0)} µs (mean, in the page); ` +
            `a static file through the worker to the server ${timings.file.toFixed(2)} ms`,
    );
});

await context.close();

// ---- 4. another origin, when configured -----------------------------------------------------------

const fresh = join(tmp, 'profile-origins');
mkdirSync(fresh, { recursive: true });
context = await launch(fresh);
await check('browser: another origin is mocked when startMock names it', async () => {
    const page = await open(context, '/app.html', context.pages()[0]);
    const seen = await page.evaluate(async (other) => {
        const { startMock } = await import('/mock.js');
        await startMock({ namespace: 'origins', origins: [other] });
        const response = await fetch(`${other}/api/elsewhere`, { method: 'POST', body: '{"from":"another origin"}' });
        return { status: response.status, body: await response.text() };
    }, otherOrigin);
    assert(seen.status === 200 && seen.body.includes('"from":"another origin"'), `got ${seen.status} ${seen.body}`);
});
await check('browser: startMock refuses a setting the engine cannot take, and an unknown option', async () => {
    const page = context.pages()[0];
    const errors = await page.evaluate(async () => {
        const { startMock } = await import('/mock.js');
        const refused = async (options) => startMock(options).then(() => 'resolved', (err) => err.message);
        return [
            await refused({ namespace: 'bad', delayMs: 'soon' }),
            await refused({ namespace: 'bad', delay: 10 }),
            await refused({ namespace: 'bad', maxNamespaces: 0 }),
        ];
    });
    assert(/maxNamespaces=0: at least 1/.test(errors[2]), `maxNamespaces 0: ${errors[2]}`);
    assert(/delayMs=soon: not a whole number/.test(errors[0]), `a bad delayMs: ${errors[0]}`);
    assert(/delay=10: not a setting; the settings are APP_NAME, /.test(errors[1]), `an unknown option: ${errors[1]}`);
});
await check('browser: a namespace started before with another seed keeps its data with a warning, and reseed starts it from the new one', async () => {
    const page = await open(context, '/app.html', context.pages()[0]);
    const seen = await page.evaluate(async () => {
        const { startMock } = await import('/mock.js');
        const warnings = [];
        const warn = console.warn;
        console.warn = (...args) => warnings.push(args.join(' '));
        const titles = async () => (await (await fetch('/api/books')).json()).map((book) => book.title);
        try {
            await startMock({ namespace: 'reseeded', seed: { books: [{ title: 'Solaris' }] } });
            const first = await titles();
            const warnedAtFirst = warnings.length;
            await startMock({ namespace: 'reseeded', seed: { books: [{ title: 'Dune' }] } });
            const kept = await titles();
            const warning = warnings.slice(warnedAtFirst).join('\n');
            await startMock({ namespace: 'reseeded', seed: { books: [{ title: 'Dune' }] }, reseed: true });
            const reseeded = await titles();
            const warnedAtLast = warnings.length;
            await startMock({ namespace: 'reseeded', seed: { books: [{ title: 'Dune' }] } });
            return { first, warnedAtFirst, kept, warning, reseeded, quietAfter: warnings.length === warnedAtLast };
        } finally {
            console.warn = warn;
        }
    });
    assert(JSON.stringify(seen.first) === '["Solaris"]' && seen.warnedAtFirst === 0, `the first start: ${JSON.stringify(seen)}`);
    assert(JSON.stringify(seen.kept) === '["Solaris"]', `another seed changed the stored data: ${JSON.stringify(seen)}`);
    assert(/namespace "reseeded" keeps the data it holds, which an earlier seed made; startMock\(\{ reseed: true \}\)/.test(seen.warning), `the warning: ${seen.warning}`);
    assert(JSON.stringify(seen.reseeded) === '["Dune"]', `reseed did not start from the new seed: ${JSON.stringify(seen)}`);
    assert(seen.quietAfter, `the same seed again warned: ${JSON.stringify(seen)}`);
});
await check("browser: a rule's reset fault makes fetch reject, as a network failure does", async () => {
    const page = context.pages()[0];
    const seen = await page.evaluate(async () => {
        const headers = { 'X-Mock-Namespace': 'faults' };
        const rule = { match: { path: '/api/down' }, respond: { fault: 'reset', delay_ms: 50 } };
        const added = await fetch('/__admin/rules', { method: 'POST', headers, body: JSON.stringify(rule) });
        const id = (await added.json()).id;
        let down;
        try {
            const response = await fetch('/api/down', { headers, cache: 'no-store' });
            down = `answered ${response.status}`;
        } catch (err) {
            down = `rejected: ${err.name}`;
        }
        const up = await fetch('/api/up', { headers, cache: 'no-store' });
        const journal = await (await fetch('/__admin/requests', { headers, cache: 'no-store' })).json();
        return { added: added.status, id, down, up: up.status, journal: journal.map((entry) => [entry.path, entry.rule]) };
    });
    assert(seen.added === 201, `adding the rule: ${seen.added}`);
    assert(seen.down === 'rejected: TypeError', `GET /api/down ${seen.down}`);
    assert(seen.up === 200, `GET /api/up after it: ${seen.up}`);
    const journal = JSON.stringify(seen.journal);
    assert(journal === JSON.stringify([['/api/down', seen.id], ['/api/up', null]]), `the journal: ${journal}`);
});
await check('browser: rules are kept in IndexedDB: they outlive the worker, with the times they have left', async () => {
    const page = context.pages()[0];
    const headers = { 'X-Mock-Namespace': 'kept-rules' };
    const rule = { id: 'twice', match: { path: '/api/flaky' }, respond: { status: 503 }, times: 2 };
    const added = await call(page, 'POST', '/__admin/rules', JSON.stringify(rule), headers);
    assert(added.status === 201, `adding the rule: ${added.status} ${added.text}`);
    const first = await call(page, 'GET', '/api/flaky', undefined, headers);
    await stopWorkers(page);
    const rules = (await json(page, 'GET', '/__admin/rules', undefined, headers)).json;
    const second = await call(page, 'GET', '/api/flaky', undefined, headers);
    const third = await call(page, 'GET', '/api/flaky', undefined, headers);
    assert(rules.length === 1 && rules[0].id === 'twice' && rules[0].times === 1, `after the worker stopped: ${JSON.stringify(rules)}`);
    const statuses = [first.status, second.status, third.status].join(' ');
    assert(statuses === '503 503 200', `GET /api/flaky three times: ${statuses}`);
});
await context.close();

await check('browser: no request under a mocked prefix reached the static server (but those sent around the mock on purpose)', async () => {
    const leaked = serverRequests().filter((request) => underPrefix(request.split(' ')[1]) && !expectedAtServer.has(request));
    assert(leaked.length === 0, `the static server saw ${leaked.slice(0, 10).join(', ')}`);
});

// ---- summary ---------------------------------------------------------------------------------------

const count = (status) => results.filter((result) => result.status === status).length;
const summary = {
    conformance: conformanceCount,
    screenshot,
    timings,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
};
writeFileSync(join(tmp, 'summary.json'), JSON.stringify(summary, null, 2));
const failed = results.filter((result) => result.status === 'fail');
if (failed.length > 0) {
    console.log('\nfailed:');
    for (const result of failed) console.log(`  ${result.name}`);
}
const skipped = results.filter((result) => result.status === 'skip');
if (skipped.length > 0) {
    console.log('\nskipped (not counted as passed):');
    for (const result of skipped) console.log(`  ${result.name}: ${result.message}`);
}
console.log(`\nbrowser: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
process.exit(summary.failed > 0 ? 1 : 0);
