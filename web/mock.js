// mock-rest-api in the browser: registers the mock's service worker (mock-sw.js, beside this file) and
// resolves once it controls the page, so that the page's very first fetch('/api/...') is answered by it.
//
//   import { startMock } from './mock.js';
//   await startMock({ namespace: 'shop', appName: 'shop-mock', seed: { products: [{ name: 'Tea' }] } });
//   const products = await (await fetch('/api/products')).json();
//
// See docs/browser.md for every option.

/** The paths the worker answers unless told otherwise. */
export const DEFAULT_PREFIXES = ['/api/', '/health', '/__admin/', '/openapi.json'];

/** With an OpenAPI document: the mock's own paths, to which the document's are added. */
const OWN_PREFIXES = ['/health', '/__admin/', '/openapi.json'];

/** The options of `startMock` itself; every other option is one of the engine's settings. */
const HOST_OPTIONS = ['prefixes', 'origins', 'namespace', 'seed', 'rules', 'openapi', 'reseed', 'serviceWorker', 'scope', 'timeoutMs'];

/** What the page asked for last, sent again to any worker that takes over (an update). */
let configured = null;
let listening = false;

/**
 * Starts the mock for this page and resolves, with `{ namespace, registration }`, once the mock's
 * worker controls the page and knows its namespace and settings. Rejects when the worker cannot take
 * control (the page is outside its scope, or not on https or localhost), or when a setting, the
 * seed or the rules are not valid.
 *
 * Options (all optional):
 * - `prefixes`: paths the worker answers (default `DEFAULT_PREFIXES`); every other request goes to
 *   the network untouched.
 * - `origins`: other origins whose requests under the prefixes are mocked too, such as
 *   `['https://api.example.com']` (default none: only the page's own origin).
 * - `namespace`: the store to use (default `"default"`); each namespace is an IndexedDB database. A
 *   request's namespace header (docs/api.md) picks another store of this namespace's own
 *   (`default` names this one), made on first use with its settings, seed and rules.
 * - `seed`: the data a new namespace starts with and `POST /__admin/reset` restores, in the snapshot
 *   format `{"type": [items]}`, as an object or as JSON text (text keeps numbers exactly as written).
 * - `rules`: the rules a namespace starts with and `POST /__admin/reset` restores (docs/rules.md), an
 *   array of rules as `GET /__admin/rules` lists them, or its JSON text.
 * - `openapi`: an OpenAPI document (3.0, 3.1 or Swagger 2.0; JSON or YAML text, or an object) whose
 *   paths the worker then answers (docs/openapi.md). Unless `prefixes` says otherwise, the worker
 *   answers the mock's own paths and, for each path of the document, every path under its first
 *   segment (`/pets` for `/pets/{petId}`).
 * - the engine's settings, by the native server's names or their JavaScript forms (`DELAY_MS` or
 *   `delayMs`): `appName`, `appVersion`, `apiToken`, `authScope`, `corsOrigins`, `delayMs`,
 *   `journalSize`, `maxBodyBytes`, `maxItems`, `maxNamespaces` (the most stores the namespace holds,
 *   itself included), `maxRules`, `maxSubscribers`, `maxTypes`, `maxUriBytes`. The engine in the worker
 *   checks them (its one table of settings), and an unknown or bad one rejects the promise.
 * - `reseed`: when this namespace was started before with another `seed` (its data, kept in IndexedDB,
 *   came from that one), start it again from this one (`POST /__admin/reset`, which needs `/__admin/`
 *   among the prefixes). Without it, such a namespace keeps its data and a console warning says so.
 * - `serviceWorker`: the worker's URL (default: mock-sw.js beside this file); `scope`: its scope
 *   (default: the folder of the worker); `timeoutMs`: how long to wait for control (default 10000).
 *
 * Prefixes and origins are part of the worker's URL, so pages of one site should agree on them.
 */
export async function startMock(options = {}) {
    if (!('serviceWorker' in navigator)) {
        throw new Error('mock-rest-api: this browser offers no service workers here (they need https or localhost).');
    }
    const {
        origins = [],
        namespace = 'default',
        seed = null,
        rules = null,
        openapi = null,
        reseed = false,
        serviceWorker = new URL('mock-sw.js', import.meta.url),
        scope,
        timeoutMs = 10000,
    } = options;
    const prefixes = options.prefixes ?? (openapi === null ? DEFAULT_PREFIXES : [...OWN_PREFIXES, ...documentPrefixes(openapi)]);
    const settings = {};
    for (const [key, value] of Object.entries(options)) {
        if (!HOST_OPTIONS.includes(key) && value !== undefined && value !== null) {
            settings[key] = Array.isArray(value) ? value.join(',') : String(value);
        }
    }
    const url = new URL(serviceWorker, location.href);
    for (const prefix of prefixes) {
        url.searchParams.append('prefix', prefix);
    }
    for (const origin of origins) {
        url.searchParams.append('origin', new URL(origin).origin);
    }
    const scriptURL = url.href;
    const message = {
        type: 'mock:configure',
        namespace: String(namespace),
        settings,
        seed: seed === null || typeof seed === 'string' ? seed : JSON.stringify(seed),
        rules: rules === null || typeof rules === 'string' ? rules : JSON.stringify(rules),
        openapi: openapi === null || typeof openapi === 'string' ? openapi : JSON.stringify(openapi),
    };

    if (!listening) {
        listening = true;
        // A new version of the worker (or one that replaced it) hears the page's latest word before
        // the page's next request; it would also find the namespace in IndexedDB.
        navigator.serviceWorker.addEventListener('controllerchange', () => {
            const worker = navigator.serviceWorker.controller;
            if (worker && configured) {
                ask(worker, configured).catch((err) => console.error(`mock-rest-api: ${err.message}`));
            }
        });
    }
    const previous = configured;
    configured = message;
    try {
        const registration = await navigator.serviceWorker.register(scriptURL, {
            scope,
            // The worker script and what it imports are always checked with the server, so a new build
            // of the mock replaces the old one on the next load.
            updateViaCache: 'none',
        });
        const controller = await within(timeoutMs, controlledBy(registration, scriptURL),
            `the mock's service worker (${scriptURL}) did not take control of this page within ${timeoutMs} ms; ` +
            `is the page inside its scope (${registration.scope})?`);
        const answer = await within(timeoutMs, ask(controller, message), `the mock's service worker did not answer within ${timeoutMs} ms`);
        if (answer && answer.seedMoved) {
            await seedMoved(message.namespace, reseed, prefixes, settings);
        }
        return { namespace: message.namespace, registration };
    } catch (err) {
        configured = previous;
        throw err;
    }
}

/**
 * The prefixes of an OpenAPI document's paths: the first segment of each (`/pets` for
 * `/pets/{petId}`), so that the worker answers them and lets the page's own files through. The
 * document is an object, JSON text, or YAML text, whose `paths` keys are found by their indent.
 */
export function documentPrefixes(openapi) {
    let paths = [];
    let document = openapi;
    if (typeof document === 'string') {
        try {
            document = JSON.parse(document);
        } catch {
            document = null;
            paths = yamlPathKeys(openapi);
        }
    }
    if (document && typeof document === 'object' && document.paths && typeof document.paths === 'object') {
        paths = Object.keys(document.paths);
    }
    const prefixes = new Set();
    for (const path of paths) {
        const first = path.split('/')[1] ?? '';
        // A path whose first segment is a parameter would take every path of the site: name it in `prefixes`.
        if (first !== '' && !first.includes('{')) prefixes.add(`/${first}`);
    }
    return [...prefixes];
}

/** The keys of a YAML document's top-level `paths` mapping: its lines at the first indent that start with `/`. */
function yamlPathKeys(text) {
    const keys = [];
    let inside = false;
    let indent = null;
    for (const line of text.split(/\r?\n/)) {
        if (/^\S/.test(line)) {
            inside = /^paths\s*:\s*$/.test(line);
            indent = null;
            continue;
        }
        const match = inside && /^(\s+)(['"]?)(\/[^'":]*)\2\s*:/.exec(line);
        if (match && (indent === null || match[1].length === indent)) {
            indent = match[1].length;
            keys.push(match[3]);
        }
    }
    return keys;
}

/** Resolves with the page's controller once it is the worker at `scriptURL`. */
function controlledBy(registration, scriptURL) {
    const container = navigator.serviceWorker;
    // This registration's worker: after an unregister, the page keeps the old worker (same URL) until
    // the new registration's takes over.
    const ours = () =>
        container.controller && container.controller.scriptURL === scriptURL && container.controller === registration.active;
    if (ours()) {
        return Promise.resolve(container.controller);
    }
    return new Promise((resolve) => {
        const check = () => {
            if (ours()) {
                container.removeEventListener('controllerchange', check);
                resolve(container.controller);
            }
        };
        container.addEventListener('controllerchange', check);
        // The worker claims every page when it activates; a page that loaded after that (or with a
        // hard reload, which skips the worker) asks it to claim this one too.
        const claimWhenActive = (worker) => {
            if (!worker || worker.scriptURL !== scriptURL) {
                return;
            }
            const claim = () => {
                if (worker.state === 'activated') {
                    worker.removeEventListener('statechange', claim);
                    ask(worker, { type: 'mock:claim' }).then(check, () => {});
                }
            };
            worker.addEventListener('statechange', claim);
            claim();
        };
        registration.addEventListener('updatefound', () => claimWhenActive(registration.installing));
        [registration.installing, registration.waiting, registration.active].forEach(claimWhenActive);
        check();
    });
}

/**
 * A namespace started before with another seed keeps the data that seed made: with `reseed`, it starts
 * again from the new one (`POST /__admin/reset`, answered by the worker); without, a warning says so.
 */
async function seedMoved(namespace, reseed, prefixes, settings) {
    if (!reseed) {
        console.warn(
            `mock-rest-api: namespace "${namespace}" keeps the data it holds, which an earlier seed made; ` +
                'startMock({ reseed: true }) (or POST /__admin/reset) starts it from this seed',
        );
        return;
    }
    if (!prefixes.some((prefix) => '/__admin/reset'.startsWith(prefix))) {
        throw new Error('mock-rest-api: reseed resets the namespace with POST /__admin/reset, which needs /__admin/ among the prefixes');
    }
    const token = settings.apiToken ?? settings.API_TOKEN;
    const response = await fetch(new URL('/__admin/reset', location.href), {
        method: 'POST',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (!response.ok) {
        throw new Error(`mock-rest-api: reseed: POST /__admin/reset answered ${response.status} ${await response.text()}`);
    }
}

/** Sends a message to a worker and resolves with its answer (rejects with its error). */
function ask(worker, message) {
    return new Promise((resolve, reject) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = ({ data }) => {
            channel.port1.close();
            if (data && data.error) {
                reject(new Error(`mock-rest-api: ${data.error}`));
            } else {
                resolve(data);
            }
        };
        worker.postMessage(message, [channel.port2]);
    });
}

function within(ms, promise, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`mock-rest-api: ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
