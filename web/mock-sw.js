// mock-rest-api in the browser: this service worker answers the page's requests under its prefixes
// (`/api/`, `/health`, `/__admin/`, `/openapi.json`) with the engine, compiled to wasm, and lets every
// other request go to the network untouched. See docs/browser.md.
//
// One request, one straight line: fetch event -> engine.handle -> its store changes written to IndexedDB
// -> the engine's delay -> the answer. A namespace's store lives in an IndexedDB database of its own, so
// the data outlives this worker (the browser stops it when idle), a reload and a browser restart; the
// worker rebuilds a namespace's engine from it on the first request after it starts.
//
// Its options come in the script's URL, which `startMock` (mock.js) builds, so that they are there
// the moment the browser starts the worker again:
//   ?prefix=/api/&prefix=/health   paths to mock (default: the four above); `/x/` takes what starts
//                                  with it, `/x` takes `/x` and what starts with `/x/`
//   &origin=https://api.example    other origins to mock as well (default: only the worker's own)
// A page's namespace and settings come by message from `startMock` and are kept in IndexedDB.
//
// Namespaces: a page's namespace (startMock's `namespace`) is to the worker what a server is to the
// native host. A request without `X-Mock-Namespace` (or with a blank one, or `default`) is answered
// by the page's namespace itself; any other valid name picks a namespace of its own within the page's
// namespace, made on first use with the page's namespace's settings, seed and rules and kept in
// IndexedDB like it. At most `maxNamespaces` (1000) of them, the page's own included; a new one past
// it is `507`. `/health` and the homepage list them, the page's own as `default`.
'use strict';

/* global wasm_bindgen */
importScripts(new URL('mock_rest_web.js', self.location.href).href);

// Compiled once per start of the worker; requests wait for it. The wasm is checked with the server
// (no-cache) so that it always matches the glue above, which the browser updates with the worker.
const engineReady = wasm_bindgen({
    module_or_path: fetch(new URL('mock_rest_web_bg.wasm', self.location.href), { cache: 'no-cache' }),
});

const options = new URL(self.location.href).searchParams;
const PREFIXES = options.has('prefix')
    ? options.getAll('prefix')
    : ['/api/', '/health', '/__admin/', '/openapi.json'];
const ORIGINS = [self.location.origin, ...options.getAll('origin').map((o) => new URL(o).origin)];

// IndexedDB: the registry (one database) and one database per namespace.
//   registry `mock-rest-api`: `namespaces` {name, settings, seed, rules, maxNamespaces}; `clients`
//     {id, namespace}, where the id "" holds the namespace configured last (for pages the worker has
//     not heard from yet); `children` {group, name} keyed by [group, name]: the namespaces requests
//     made within the page's namespace `group` (version 2 of the registry).
//   namespace `mock-rest-api:NAME` (a page's namespace) or `mock-rest-api@CHILD:NAME` (the namespace
//     CHILD that requests made within NAME; CHILD has no `:`): `types` {resource, seq}, `items`
//     {resource, id, item, seq} keyed by [resource, id], `singles` {resource, item, seq} keyed by resource (singular resources), `rules`
//     {id, rule, seq} keyed by id, `meta` {key: "seeded"}. `seq` keeps creation order, as the engine
//     does: a new item, type, singular resource or rule gets the next number, a replaced item or
//     singular resource and a rule whose times went down keep their own.
const REGISTRY = 'mock-rest-api';
const DEFAULT_NAMESPACE = 'default';
const DEFAULT_MAX_NAMESPACES = 1000;
const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];

self.addEventListener('install', (event) => {
    // A worker whose engine does not load is not installed, and the old one (if any) goes on.
    event.waitUntil(engineReady.then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
    event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
    if (mocked(event.request)) {
        event.respondWith(answer(event));
    }
    // Anything else: no respondWith, so the browser fetches it from the network as if we were not here.
});

/** The configure message being handled (they are handled one after another). */
let configuring = Promise.resolve();

self.addEventListener('message', (event) => {
    const data = event.data || {};
    const port = event.ports[0];
    const reply = (message) => port && port.postMessage(message);
    let work;
    if (data.type === 'mock:claim') {
        work = self.clients.claim();
    } else if (data.type === 'mock:configure') {
        // One at a time, in the order they came: a page's latest word wins.
        work = configuring = configuring.catch(() => {}).then(() => configure(event.source && event.source.id, data));
    } else {
        return;
    }
    event.waitUntil(
        work.then(
            () => reply({ ok: true }),
            (err) => reply({ error: String((err && err.message) || err) }),
        ),
    );
});

/** Whether the worker answers this request: a non-navigation request under a prefix, on an origin it mocks. */
function mocked(request) {
    if (request.mode === 'navigate') {
        return false;
    }
    const url = new URL(request.url);
    return ORIGINS.includes(url.origin) && PREFIXES.some((prefix) => under(url.pathname, prefix));
}

function under(path, prefix) {
    return prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix || path.startsWith(prefix + '/');
}

/** The answer to a mocked request; a failure of the worker itself is a JSON `500`, never a network error. */
async function answer(event) {
    try {
        return await serve(event);
    } catch (err) {
        return hostError(event.request, `The mock could not answer: ${(err && err.message) || err}`);
    }
}

/** The request as the engine takes it: the path and query, and the headers as alternating names and values. */
function wire(request) {
    const url = new URL(request.url);
    // What a server would see: the page's headers, and Host (and the scheme, as a proxy says it),
    // which a page cannot send; page links (`Link`) are built from them.
    const headers = [];
    for (const [name, value] of request.headers) {
        headers.push(name, value);
    }
    headers.push('host', url.host);
    if (url.protocol === 'https:' && !request.headers.has('x-forwarded-proto')) {
        headers.push('x-forwarded-proto', 'https');
    }
    return { target: url.pathname + url.search, headers };
}

async function serve(event) {
    const request = event.request;
    const { target, headers } = wire(request);
    const group = await pageNamespace(event);
    let home;
    try {
        home = await namespace(group, DEFAULT_NAMESPACE);
    } catch (err) {
        return hostError(request, `The mock's namespace "${group}" could not be started: ${err.message}`);
    }
    // The request's namespace by the core's rule: a bad name is 400, `default` is the page's own.
    const picked = home.engine.namespaceOf(request.method, target, headers);
    if (picked.response) {
        return toResponse(picked.response);
    }
    let live = home;
    if (picked.name !== DEFAULT_NAMESPACE) {
        if (!(await makeChild(group, picked.name, home.maxNamespaces))) {
            return toResponse(home.engine.tooManyNamespaces(request.method, target, headers, home.maxNamespaces));
        }
        try {
            live = await namespace(group, picked.name);
        } catch (err) {
            return hostError(request, `The mock's namespace "${picked.name}" (in "${group}") could not be started: ${err.message}`);
        }
    }
    const name = live.name;
    if (wasm_bindgen.showsNamespaces(target)) {
        await listNamespaces(group, live);
    }
    // The whole body; the engine applies the body limit (and answers 413) by the core's rules.
    const bytes = request.method === 'GET' || request.method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
    // From here to the store's transaction nothing awaits, so the writes of requests reach
    // IndexedDB in the order the engine made them.
    let outcome;
    try {
        outcome = live.engine.handle(request.method, target, headers, bytes);
    } catch (err) {
        // A panic in the engine: its memory is not to be trusted, so it is built again from IndexedDB.
        forget(live);
        throw err;
    }
    // The change feed: each event to every open stream of this namespace that wants it (every tab's
    // EventSource comes through this worker), and a new stream registered before any await.
    publish(name, outcome.events);
    if (outcome.subscribe) {
        return subscribe(name, live.engine, outcome, request, target, headers);
    }
    let response = outcome;
    if (outcome.changes.length > 0) {
        try {
            await record(live, outcome.changes);
        } catch (err) {
            console.error(`mock-rest-api: storing the changes failed, nothing was kept: ${err && err.message}`);
            response = live.engine.storageFailed(request.method, target, headers);
            forget(live);
        }
    }
    if (outcome.delay > 0) {
        await new Promise((resolve) => setTimeout(resolve, outcome.delay));
    }
    if (outcome.fault === 'reset' && response === outcome) {
        // A rule drops the connection: the page's fetch rejects, as on a network failure.
        return Response.error();
    }
    return toResponse(response);
}

// ---- the change feed ---------------------------------------------------------------------------

/** namespace -> Set of open event streams ({types, write, end}); MAX_SUBSCRIBERS counts them all. */
const feeds = new Map();
let feedConstants = null;

function publish(name, events) {
    const streams = feeds.get(name);
    if (!streams || events.length === 0) {
        return;
    }
    for (const event of events) {
        for (const stream of streams) {
            // The core's rule (Subscription::wants): an event of no type reaches everyone.
            if (event.type === null || stream.types.length === 0 || stream.types.includes(event.type)) {
                stream.write(event.bytes);
            }
        }
    }
}

/**
 * The answer to an accepted `GET /__admin/events`: a stream that sends the replay, then the events
 * of this namespace, and a keep-alive comment every 15 s. A reader that lets more than the core's
 * buffer bound wait (ReadableStream's desiredSize) gets `event: overflow` and the end.
 */
function subscribe(name, engine, outcome, request, target, headers) {
    feedConstants = feedConstants || wasm_bindgen.feedConstants();
    const { keepAlive, keepAliveMs, overflow, bufferBytes } = feedConstants;
    let open = 0;
    for (const streams of feeds.values()) {
        open += streams.size;
    }
    if (open >= engine.maxSubscribers) {
        return toResponse(engine.tooManySubscribers(request.method, target, headers));
    }
    let streams = feeds.get(name);
    if (!streams) {
        streams = new Set();
        feeds.set(name, streams);
    }
    let entry;
    const body = new ReadableStream(
        {
            start(controller) {
                let timer = null;
                const end = () => {
                    clearInterval(timer);
                    streams.delete(entry);
                };
                const write = (bytes) => {
                    if (!streams.has(entry)) {
                        return;
                    }
                    if (controller.desiredSize !== null && controller.desiredSize < 0) {
                        end();
                        controller.enqueue(overflow.slice());
                        controller.close();
                        return;
                    }
                    controller.enqueue(bytes.slice());
                };
                entry = { types: outcome.subscribe.types, write, end };
                streams.add(entry);
                timer = setInterval(() => write(keepAlive), keepAliveMs);
                if (outcome.body.length > 0) {
                    write(outcome.body);
                }
            },
            cancel() {
                entry.end();
            },
        },
        { highWaterMark: bufferBytes, size: (chunk) => chunk.byteLength },
    );
    const out = new Headers();
    for (const [header, value] of outcome.headers) {
        out.append(header, value);
    }
    return new Response(body, { status: outcome.status, headers: out });
}

function toResponse({ status, headers, body }) {
    const out = new Headers();
    for (const [name, value] of headers) {
        try {
            out.append(name, value);
        } catch {
            console.warn(`mock-rest-api: dropped a ${name} header value that HTTP cannot carry`);
        }
    }
    return new Response(NULL_BODY_STATUSES.includes(status) ? null : body, { status, headers: out });
}

/**
 * The answer (a JSON `500`, built by the core like every other error) when there is no engine to
 * ask: a namespace that could not start, a failure of the worker. Without the wasm there is nothing
 * to build it with, and the answer is a network error.
 */
async function hostError(request, message) {
    console.error(`mock-rest-api: ${message}`);
    try {
        await engineReady;
    } catch {
        return Response.error();
    }
    const { target, headers } = wire(request);
    return toResponse(wasm_bindgen.hostFailed(message, request.method, target, headers));
}

// ---- namespaces -------------------------------------------------------------------------------

/** client id -> namespace, as `startMock` said; "" is the namespace configured last. */
const clientNamespaces = new Map();
/** A namespace's key (storeKey) -> Promise of its live engine and store. */
const lives = new Map();
/** A page's namespace -> Promise of the Set of the names requests made within it. */
const groups = new Map();
/** The registry write of a new namespace being made (they are made one after another). */
let making = Promise.resolve();

/**
 * The key of namespace `name` of the page's namespace `group` (`default`: the page's own): the name
 * of its database after `mock-rest-api`, and the key of its engine and event streams. A request's
 * name has no `:`, so no two differ only in where the group ends.
 */
function storeKey(group, name) {
    return name === DEFAULT_NAMESPACE ? `:${group}` : `@${name}:${group}`;
}

/** The page's namespace of a key. */
function groupOf(key) {
    return key.slice(key.indexOf(':') + 1);
}

/** The namespace that `startMock` configured for the page that sent the request. */
async function pageNamespace(event) {
    for (const id of [event.clientId, '']) {
        if (!clientNamespaces.has(id)) {
            const registry = await openRegistry();
            const known = await result(registry.transaction('clients').objectStore('clients').get(id));
            if (known) {
                clientNamespaces.set(id, known.namespace);
            }
        }
        if (clientNamespaces.has(id)) {
            return clientNamespaces.get(id);
        }
    }
    return DEFAULT_NAMESPACE;
}

/**
 * The live engine of namespace `name` of the page's namespace `group`, started (from IndexedDB) by
 * the first request that needs it.
 */
function namespace(group, name) {
    const key = storeKey(group, name);
    let promise = lives.get(key);
    if (!promise) {
        promise = start(group, key);
        lives.set(key, promise);
        promise.then(
            (live) => (live.promise = promise),
            () => lives.get(key) === promise && lives.delete(key),
        );
    }
    return promise;
}

/** The names requests made within the page's namespace `group`, from the registry on first need. */
function childrenOf(group) {
    let promise = groups.get(group);
    if (!promise) {
        promise = openRegistry().then(async (registry) => {
            const range = IDBKeyRange.bound([group], [group, []]);
            const rows = await result(registry.transaction('children').objectStore('children').getAll(range));
            return new Set(rows.map((row) => row.name));
        });
        groups.set(group, promise);
        promise.catch(() => groups.get(group) === promise && groups.delete(group));
    }
    return promise;
}

/**
 * Makes namespace `name` within `group` if it is new, kept in the registry before any request uses
 * it; false, making nothing, when `group` holds `limit` namespaces already (its own included).
 */
async function makeChild(group, name, limit) {
    const known = await childrenOf(group);
    if (known.has(name)) {
        return true;
    }
    const work = making.catch(() => {}).then(async () => {
        if (known.has(name)) {
            return true;
        }
        if (known.size + 1 >= limit) {
            return false;
        }
        const registry = await openRegistry();
        const tx = registry.transaction('children', 'readwrite');
        tx.objectStore('children').put({ group, name });
        await done(tx);
        known.add(name);
        return true;
    });
    making = work;
    return work;
}

/**
 * Tells the engine about to answer `/health` or the homepage the namespaces of `group` with their
 * item counts (the page's own as `default`), when there is more than that one.
 */
async function listNamespaces(group, live) {
    const children = await childrenOf(group);
    if (children.size === 0) {
        return;
    }
    const names = [DEFAULT_NAMESPACE, ...children].sort();
    const engines = await Promise.all(names.map((name) => namespace(group, name)));
    live.engine.setNamespaces(names, Uint32Array.from(engines, (each) => each.engine.itemCount));
}

/**
 * Drops a namespace's engine, whose memory may now be ahead of IndexedDB; the next request builds
 * it again from what IndexedDB holds. (Requests still running finish with the old one, which the
 * garbage collector frees.)
 */
function forget(live) {
    if (lives.get(live.name) === live.promise) {
        lives.delete(live.name);
    }
}

/** A namespace's engine and store (`key`, of the page's namespace `group`), with its settings, seed and rules. */
async function start(group, key) {
    await engineReady;
    const registry = await openRegistry();
    const saved = await result(registry.transaction('namespaces').objectStore('namespaces').get(group));
    const engine = new wasm_bindgen.MockEngine(
        saved ? saved.settings : {},
        (saved && saved.seed) ?? undefined,
        (saved && saved.rules) ?? undefined,
    );
    const live = {
        name: key,
        engine,
        maxNamespaces: (saved && saved.maxNamespaces) || DEFAULT_MAX_NAMESPACES,
        db: null,
        types: new Map(),
        singles: new Map(),
        rules: new Map(),
        nextSeq: 1,
    };
    try {
        live.db = await openNamespace(key);
        const tx = live.db.transaction(['types', 'items', 'meta', 'rules', 'singles']);
        const [types, items, seeded, rules, singles] = await Promise.all([
            result(tx.objectStore('types').getAll()),
            result(tx.objectStore('items').getAll()),
            result(tx.objectStore('meta').get('seeded')),
            result(tx.objectStore('rules').getAll()),
            result(tx.objectStore('singles').getAll()),
        ]);
        if (!seeded) {
            // First start: the store is the seed (or empty); keep it.
            await record(live, engine.storeChanges(), true);
            return live;
        }
        engine.apply({ kind: 'clearAll' });
        const typeSeq = new Map(types.map((type) => [type.resource, type.seq]));
        items.sort((a, b) => typeSeq.get(a.resource) - typeSeq.get(b.resource) || a.seq - b.seq);
        for (const type of types) {
            live.types.set(type.resource, { seq: type.seq, items: new Map() });
            live.nextSeq = Math.max(live.nextSeq, type.seq + 1);
        }
        for (const item of items) {
            engine.apply({ kind: 'create', resource: item.resource, id: item.id, item: item.item });
            live.types.get(item.resource).items.set(item.id, item.seq);
            live.nextSeq = Math.max(live.nextSeq, item.seq + 1);
        }
        singles.sort((a, b) => a.seq - b.seq);
        for (const single of singles) {
            engine.apply({ kind: 'putSingle', resource: single.resource, item: single.item });
            live.singles.set(single.resource, single.seq);
            live.nextSeq = Math.max(live.nextSeq, single.seq + 1);
        }
        // The stored rules, not those startMock gave (which reset brings back), as for the data.
        engine.apply({ kind: 'clearRules' });
        rules.sort((a, b) => a.seq - b.seq);
        for (const rule of rules) {
            engine.apply({ kind: 'putRule', id: rule.id, rule: rule.rule });
            live.rules.set(rule.id, rule.seq);
            live.nextSeq = Math.max(live.nextSeq, rule.seq + 1);
        }
        return live;
    } catch (err) {
        engine.free();
        throw err;
    }
}

/**
 * Writes one request's changes in one transaction, resolving once it is committed: each change of the
 * engine is one IndexedDB operation. `live.types` mirrors the order numbers of the rows
 * (resource -> {seq, items: id -> seq}), so that a replaced item keeps its place without a read.
 */
function record(live, changes, seeding = false) {
    const tx = live.db.transaction(['types', 'items', 'meta', 'rules', 'singles'], 'readwrite');
    const types = tx.objectStore('types');
    const items = tx.objectStore('items');
    const singles = tx.objectStore('singles');
    const rules = tx.objectStore('rules');
    const typeOf = (resource) => {
        const type = live.types.get(resource);
        if (!type) {
            throw new Error(`the stored rows have no type "${resource}"`);
        }
        return type;
    };
    try {
        for (const change of changes) {
            const { kind, resource, id } = change;
            if (kind === 'createType') {
                const seq = live.nextSeq++;
                live.types.set(resource, { seq, items: new Map() });
                types.put({ resource, seq });
            } else if (kind === 'create') {
                const seq = live.nextSeq++;
                typeOf(resource).items.set(id, seq);
                items.put({ resource, id, item: change.item, seq });
            } else if (kind === 'replace') {
                items.put({ resource, id, item: change.item, seq: typeOf(resource).items.get(id) });
            } else if (kind === 'delete') {
                typeOf(resource).items.delete(id);
                items.delete([resource, id]);
            } else if (kind === 'dropType') {
                live.types.delete(resource);
                types.delete(resource);
                items.delete(IDBKeyRange.bound([resource], [resource, []]));
            } else if (kind === 'clearAll') {
                live.types.clear();
                live.singles.clear();
                types.clear();
                items.clear();
                singles.clear();
            } else if (kind === 'putSingle') {
                // A known singular resource keeps its place; a new one goes after the others.
                if (!live.singles.has(resource)) live.singles.set(resource, live.nextSeq++);
                singles.put({ resource, item: change.item, seq: live.singles.get(resource) });
            } else if (kind === 'putRule') {
                // A known rule keeps its place; a new one goes after the others.
                if (!live.rules.has(id)) live.rules.set(id, live.nextSeq++);
                rules.put({ id, rule: change.rule, seq: live.rules.get(id) });
            } else if (kind === 'deleteRule') {
                live.rules.delete(id);
                rules.delete(id);
            } else if (kind === 'clearRules') {
                live.rules.clear();
                rules.clear();
            } else {
                throw new Error(`a change of unknown kind "${kind}"`);
            }
        }
    } catch (err) {
        tx.abort();
        return Promise.reject(err);
    }
    if (seeding) {
        tx.objectStore('meta').put({ key: 'seeded' });
    }
    return done(tx);
}

/**
 * Stores what a page's `startMock` says: its namespace, and that namespace's settings, seed, rules
 * and `maxNamespaces` (which the namespaces requests made within it follow too).
 */
async function configure(clientId, { namespace: name, settings = {}, seed = null, rules = null, maxNamespaces = null }) {
    name = String(name || '').trim() || DEFAULT_NAMESPACE;
    let limit = DEFAULT_MAX_NAMESPACES;
    if (maxNamespaces !== null && maxNamespaces !== undefined) {
        const text = String(maxNamespaces).trim();
        limit = /^[0-9]+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(limit) || limit < 1) {
            throw new Error(`maxNamespaces=${maxNamespaces}: a whole number, at least 1`);
        }
    }
    await engineReady;
    // Settings the engine refuses are refused here, to the page, rather than on every request.
    const probe = new wasm_bindgen.MockEngine(settings, seed ?? undefined, rules ?? undefined);
    for (const warning of probe.warnings) {
        console.warn(`mock-rest-api: ${warning}`);
    }
    probe.free();
    const registry = await openRegistry();
    const known = await result(registry.transaction('namespaces').objectStore('namespaces').get(name));
    const changed =
        !known ||
        canonical(known.settings) !== canonical(settings) ||
        (known.seed ?? null) !== seed ||
        (known.rules ?? null) !== rules ||
        (known.maxNamespaces || DEFAULT_MAX_NAMESPACES) !== limit;
    const tx = registry.transaction(['namespaces', 'clients'], 'readwrite');
    if (changed) {
        tx.objectStore('namespaces').put({ name, settings, seed, rules, maxNamespaces: limit });
    }
    const clients = tx.objectStore('clients');
    if (clientId) {
        clients.put({ id: clientId, namespace: name });
    }
    clients.put({ id: '', namespace: name });
    await done(tx);
    if (clientId) {
        clientNamespaces.set(clientId, name);
    }
    clientNamespaces.set('', name);
    if (changed) {
        // New settings: the engines of the namespace, and of those made within it, start again from
        // their stored items.
        for (const key of [...lives.keys()]) {
            if (groupOf(key) === name) {
                lives.delete(key);
            }
        }
    }
    await forgetClosedPages(registry);
}

/** Drops the namespaces of pages that are gone. */
async function forgetClosedPages(registry) {
    const open = new Set((await self.clients.matchAll({ includeUncontrolled: true, type: 'all' })).map((c) => c.id));
    const tx = registry.transaction('clients', 'readwrite');
    const clients = tx.objectStore('clients');
    for (const id of await result(clients.getAllKeys())) {
        if (id !== '' && !open.has(id)) {
            clients.delete(id);
            clientNamespaces.delete(id);
        }
    }
    await done(tx);
}

function canonical(settings) {
    return JSON.stringify(Object.keys(settings || {}).sort().map((key) => [key, settings[key]]));
}

// ---- IndexedDB, as promises ---------------------------------------------------------------------

let registryOpen = null;

function openRegistry() {
    if (!registryOpen) {
        // Version 2 added `children` (an older registry gets it and keeps its rows).
        registryOpen = openDatabase(REGISTRY, 2, (db, oldVersion) => {
            if (oldVersion < 1) {
                db.createObjectStore('namespaces', { keyPath: 'name' });
                db.createObjectStore('clients', { keyPath: 'id' });
            }
            if (oldVersion < 2) {
                db.createObjectStore('children', { keyPath: ['group', 'name'] });
            }
        });
        registryOpen.catch(() => (registryOpen = null));
    }
    return registryOpen;
}

/**
 * A namespace's database, by its key (storeKey); version 2 added the rules, version 3 the singular
 * resources (an older database gets the stores it lacks and keeps its rows).
 */
function openNamespace(key) {
    return openDatabase(`${REGISTRY}${key}`, 3, (db, oldVersion) => {
        if (oldVersion < 1) {
            db.createObjectStore('types', { keyPath: 'resource' });
            db.createObjectStore('items', { keyPath: ['resource', 'id'] });
            db.createObjectStore('meta', { keyPath: 'key' });
        }
        if (oldVersion < 2) {
            db.createObjectStore('rules', { keyPath: 'id' });
        }
        if (oldVersion < 3) {
            db.createObjectStore('singles', { keyPath: 'resource' });
        }
    });
}

function openDatabase(name, version, create) {
    return new Promise((resolve, reject) => {
        const request = indexedDB.open(name, version);
        request.onupgradeneeded = (event) => create(request.result, event.oldVersion);
        request.onsuccess = () => {
            const db = request.result;
            // Another version of this worker deleting or upgrading the database: let it.
            db.onversionchange = () => db.close();
            resolve(db);
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error(`IndexedDB database ${name} is blocked by another tab`));
    });
}

function result(request) {
    return new Promise((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
}

function done(tx) {
    return new Promise((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error || new Error('IndexedDB transaction failed'));
        tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
    });
}
