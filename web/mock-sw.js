// mock-rest-api in the browser: this service worker answers the page's requests under its prefixes
// (`/api/`, `/health`, `/__admin/`, `/openapi.json`) with the engine, compiled to wasm, and lets every
// other request go to the network untouched. See docs/browser.md.
//
// One request, one straight line: fetch event -> the endpoint, on the wire -> its effects in order (a
// namespace's database made or deleted, its changes written to IndexedDB, then the events sent to the
// open streams) -> the delay -> the answer. A namespace's store lives in an IndexedDB database of its own, so
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
// native host: one endpoint (the core's), holding the page's own namespace as `default` and every
// namespace a request's namespace header made within it, each kept in IndexedDB. Which namespace a
// request is for, and how many there may be (`maxNamespaces`), is the endpoint's to decide.
'use strict';

/* global wasm_bindgen */
importScripts(new URL('mock_rest_web.js', self.location.href).href, new URL('mock-wire.js', self.location.href).href);

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
//   registry `mock-rest-api`: `namespaces` {name, settings, seed, rules, openapi}; `clients`
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
            (result) => reply({ ok: true, ...result }),
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
    let live;
    try {
        live = await groupOf(group);
    } catch (err) {
        return hostError(request, `The mock's namespace "${group}" could not be started: ${err.message}`);
    }
    // The whole body; the endpoint applies the body limit (and answers 413) by the core's rules.
    const bytes = request.method === 'GET' || request.method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
    let outcome;
    try {
        outcome = handle(live, request.method, target, headers, bytes);
    } catch (err) {
        // A panic in the engine: its memory is not to be trusted, so it is built again from IndexedDB.
        dropGroup(live);
        throw err;
    }
    // The effects in order: a new namespace's database, a dropped one's deletion, the changes
    // written, then the events sent to the open streams (every tab's EventSource comes through
    // this worker), then the delay, then the answer.
    for (const name of outcome.opened || []) {
        live.stores.set(name, makeStore(live, name));
    }
    for (const name of outcome.forgotten || []) {
        forgetStore(live, name);
    }
    let failed = null;
    for (const { namespace: name, held } of outcome.persist || []) {
        const changes = JSON.parse(live.endpoint.takeChanges(held));
        try {
            await record(await live.stores.get(name), changes);
        } catch (err) {
            console.error(`mock-rest-api: storing the changes failed, nothing was kept: ${err && err.message}`);
            failed = err;
        }
    }
    if (failed !== null) {
        const response = live.endpoint.storageFailed(request.method, target, headers);
        // Memory is ahead of IndexedDB: the namespace group is built again from it.
        dropGroup(live);
        return toResponse(response);
    }
    if (request.method === 'POST' && outcome.status === 200 && target.split('?')[0] === '/__admin/reset' &&
        (outcome.persist || []).some(({ namespace: name }) => name === DEFAULT_NAMESPACE)) {
        // The page's namespace starts again from the seed it has now: its data is that seed's.
        await dataFromSeed(group);
    }
    for (const number of outcome.publish || []) {
        wakeStreams(live, live.endpoint.publish(number));
    }
    wakeStreams(live, outcome.wake || []);
    if (outcome.held !== 0) {
        // The browser cannot proxy: the endpoint answers as for a target that cannot be reached.
        live.endpoint.takeForward(outcome.held);
        const at = live.endpoint.upstreamFailed(outcome.ticket, 'unreachable', 'the mock in the browser does not proxy');
        const after = decodeAt(at);
        return toResponse({ status: after.status, headers: pairs(after.headers), body: after.body });
    }
    if (outcome.delay > 0) {
        await new Promise((resolve) => setTimeout(resolve, outcome.delay));
    }
    if (outcome.fault === 'reset') {
        // A rule drops the connection: the page's fetch rejects, as on a network failure.
        return Response.error();
    }
    if (outcome.stream !== null) {
        return eventStream(live, outcome);
    }
    return toResponse({ status: outcome.status, headers: pairs(outcome.headers), body: outcome.body });
}

/** Sends a request to a group's endpoint on the wire, and reads its answer. */
function handle(live, method, target, headers, body) {
    const head = encoder.encode(headers.length > 0 ? `${method}\n${target}\n${headers.join('\n')}` : `${method}\n${target}`);
    const length = head.length + body.length;
    if (length > wireRoom.size || (wireRoom.size > WIRE_ROOM && length <= WIRE_ROOM)) {
        wireRoom.size = Math.max(length, WIRE_ROOM);
        wireRoom.at = wasm_bindgen.wireRequest(wireRoom.size);
    }
    const memory = new Uint8Array(wasm_bindgen.wireMemory().buffer);
    memory.set(head, wireRoom.at);
    memory.set(body, wireRoom.at + head.length);
    return decodeAt(live.endpoint.handleWire(length, head.length));
}

/** The answer of the wire at `at`, read out of the wasm memory. */
function decodeAt(at) {
    const memory = new Uint8Array(wasm_bindgen.wireMemory().buffer);
    tags = tags || wasm_bindgen.wireLayout().tags;
    return self.mockWire.decode(memory, at, tags, (from, to) => decoder.decode(memory.subarray(from, to)));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let tags = null;
/** The room for requests kept in the wasm memory between calls: 64 KiB (a larger one gets more, given back after it). */
const WIRE_ROOM = 64 * 1024;
const wireRoom = { at: 0, size: -1 };

/** Headers as names and values alternating, as `[name, value]` pairs. */
function pairs(flat) {
    const out = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
    return out;
}

// ---- the change feed ---------------------------------------------------------------------------

/**
 * The answer to an accepted `GET /__admin/events`: a stream that sends the replay, then what the
 * endpoint gives the stream as the page reads it, and a keep-alive comment every 15 s. What the page
 * leaves unread waits in the endpoint, which ends a stream that falls too far behind with
 * `event: overflow`.
 */
function eventStream(live, outcome) {
    const { keepAlive, keepAliveMs } = (feedConstants = feedConstants || wasm_bindgen.feedConstants());
    const id = outcome.stream;
    let entry;
    const body = new ReadableStream(
        {
            start(controller) {
                const finish = () => {
                    clearInterval(entry.timer);
                    live.streams.delete(id);
                };
                entry = {
                    ready: false,
                    timer: setInterval(() => controller.enqueue(keepAlive.slice()), keepAliveMs),
                    pump() {
                        while (entry.ready && live.streams.has(id)) {
                            const read = live.endpoint.readStream(id);
                            if (read.bytes.length > 0) controller.enqueue(read.bytes);
                            if (read.end) {
                                finish();
                                controller.close();
                                return;
                            }
                            if (read.bytes.length === 0) return;
                            entry.ready = controller.desiredSize > 0;
                        }
                    },
                    cancel() {
                        finish();
                        live.endpoint.closeStream(id);
                    },
                };
                live.streams.set(id, entry);
                if (outcome.body.length > 0) {
                    controller.enqueue(outcome.body);
                }
            },
            pull() {
                entry.ready = true;
                entry.pump();
            },
            cancel() {
                entry.cancel();
            },
        },
        { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
    );
    const out = new Headers();
    for (const [header, value] of pairs(outcome.headers)) {
        out.append(header, value);
    }
    return new Response(body, { status: outcome.status, headers: out });
}

let feedConstants = null;

/** Tells each woken stream of a group that it has bytes to read. */
function wakeStreams(live, ids) {
    for (const id of ids) {
        live.streams.get(id)?.pump();
    }
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
 * The answer (a JSON `500`, built by the core like every other error) when there is no endpoint to
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
/** A page's namespace -> Promise of its live group: {group, endpoint, stores, streams}. */
const groups = new Map();

/**
 * The key of namespace `name` of the page's namespace `group` (`default`: the page's own): the name
 * of its database after `mock-rest-api`. A request's name has no `:`, so no two differ only in where
 * the group ends.
 */
function storeKey(group, name) {
    return name === DEFAULT_NAMESPACE ? `:${group}` : `@${name}:${group}`;
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

/** The live group of a page's namespace, started (from IndexedDB) by the first request that needs it. */
function groupOf(group) {
    let promise = groups.get(group);
    if (!promise) {
        promise = startGroup(group);
        groups.set(group, promise);
        promise.then(
            (live) => (live.promise = promise),
            () => groups.get(group) === promise && groups.delete(group),
        );
    }
    return promise;
}

/**
 * Drops a group's endpoint, whose memory may be ahead of IndexedDB; the next request builds it again
 * from what IndexedDB holds, and its open streams end.
 */
function dropGroup(live) {
    if (groups.get(live.group) === live.promise) {
        groups.delete(live.group);
    }
    for (const entry of [...live.streams.values()]) {
        entry.cancel();
    }
}

/**
 * A page's namespace with every namespace made within it, loaded from IndexedDB: one endpoint (with
 * the settings, seed and rules `startMock` gave) and one database per namespace.
 */
async function startGroup(group) {
    await engineReady;
    const registry = await openRegistry();
    const saved = await result(registry.transaction('namespaces').objectStore('namespaces').get(group));
    const endpoint = new wasm_bindgen.MockEndpoint(
        saved ? saved.settings : {},
        (saved && saved.seed) ?? undefined,
        (saved && saved.rules) ?? undefined,
        (saved && saved.openapi) ?? undefined,
        true,
    );
    const live = { group, endpoint, stores: new Map(), streams: new Map(), promise: null };
    try {
        const range = IDBKeyRange.bound([group], [group, []]);
        const children = await result(registry.transaction('children').objectStore('children').getAll(range));
        for (const name of [DEFAULT_NAMESPACE, ...children.map((row) => row.name)]) {
            let opened;
            try {
                opened = decodeAt(endpoint.open(name));
            } catch (err) {
                console.warn(`mock-rest-api: namespace "${name}" (in "${group}") is not loaded: ${err.message}`);
                continue;
            }
            for (const made of opened.opened || []) {
                const store = makeStore(live, made);
                live.stores.set(made, store);
                await store;
            }
        }
        return live;
    } catch (err) {
        endpoint.free();
        throw err;
    }
}

/**
 * The database of a namespace the endpoint just made: a new one stores what the endpoint holds (its
 * seed) and is listed in the registry; a stored one is replayed into the endpoint. Resolves to the
 * store once it is ready for writes.
 */
async function makeStore(live, name) {
    const key = storeKey(live.group, name);
    const store = { key, db: null, types: new Map(), singles: new Map(), rules: new Map(), nextSeq: 1 };
    store.db = await openNamespace(key);
    const tx = store.db.transaction(['types', 'items', 'meta', 'rules', 'singles']);
    const [types, items, seeded, rules, singles] = await Promise.all([
        result(tx.objectStore('types').getAll()),
        result(tx.objectStore('items').getAll()),
        result(tx.objectStore('meta').get('seeded')),
        result(tx.objectStore('rules').getAll()),
        result(tx.objectStore('singles').getAll()),
    ]);
    if (!seeded) {
        // First start: the store is the seed (or empty); keep it.
        await record(store, JSON.parse(live.endpoint.storeChanges(name)), true);
        if (name !== DEFAULT_NAMESPACE) {
            const registry = await openRegistry();
            const write = registry.transaction('children', 'readwrite');
            write.objectStore('children').put({ group: live.group, name });
            await done(write);
        }
        return store;
    }
    const apply = (change) => live.endpoint.apply(name, JSON.stringify(change));
    apply({ kind: 'clearAll' });
    const typeSeq = new Map(types.map((type) => [type.resource, type.seq]));
    items.sort((a, b) => typeSeq.get(a.resource) - typeSeq.get(b.resource) || a.seq - b.seq);
    for (const type of types) {
        store.types.set(type.resource, { seq: type.seq, items: new Map() });
        store.nextSeq = Math.max(store.nextSeq, type.seq + 1);
    }
    for (const item of items) {
        apply({ kind: 'create', resource: item.resource, id: item.id, item: item.item });
        store.types.get(item.resource).items.set(item.id, item.seq);
        store.nextSeq = Math.max(store.nextSeq, item.seq + 1);
    }
    singles.sort((a, b) => a.seq - b.seq);
    for (const single of singles) {
        apply({ kind: 'putSingle', resource: single.resource, item: single.item });
        store.singles.set(single.resource, single.seq);
        store.nextSeq = Math.max(store.nextSeq, single.seq + 1);
    }
    // The stored rules, not those startMock gave (which reset brings back), as for the data.
    apply({ kind: 'clearRules' });
    rules.sort((a, b) => a.seq - b.seq);
    for (const rule of rules) {
        apply({ kind: 'putRule', id: rule.id, rule: rule.rule });
        store.rules.set(rule.id, rule.seq);
        store.nextSeq = Math.max(store.nextSeq, rule.seq + 1);
    }
    return store;
}

/** Deletes the database of a namespace the endpoint dropped, and its place in the registry. */
function forgetStore(live, name) {
    const store = live.stores.get(name);
    live.stores.delete(name);
    const deleting = (async () => {
        if (store) {
            try {
                (await store).db.close();
            } catch {
                // It never opened: there is nothing to close.
            }
        }
        await new Promise((resolve) => {
            const request = indexedDB.deleteDatabase(`${REGISTRY}${storeKey(live.group, name)}`);
            request.onsuccess = request.onerror = request.onblocked = () => resolve();
        });
        const registry = await openRegistry();
        const tx = registry.transaction('children', 'readwrite');
        tx.objectStore('children').delete([live.group, name]);
        await done(tx);
    })();
    deleting.catch((err) => console.warn(`mock-rest-api: namespace "${name}" could not be deleted: ${err.message}`));
}

/**
 * Writes one request's changes in one transaction, resolving once it is committed: each change of the
 * engine is one IndexedDB operation. `store.types` mirrors the order numbers of the rows
 * (resource -> {seq, items: id -> seq}), so that a replaced item keeps its place without a read.
 */
function record(store, changes, seeding = false) {
    const tx = store.db.transaction(['types', 'items', 'meta', 'rules', 'singles'], 'readwrite');
    const types = tx.objectStore('types');
    const items = tx.objectStore('items');
    const singles = tx.objectStore('singles');
    const rules = tx.objectStore('rules');
    const typeOf = (resource) => {
        const type = store.types.get(resource);
        if (!type) {
            throw new Error(`the stored rows have no type "${resource}"`);
        }
        return type;
    };
    try {
        for (const change of changes) {
            const { kind, resource, id } = change;
            if (kind === 'createType') {
                const seq = store.nextSeq++;
                store.types.set(resource, { seq, items: new Map() });
                types.put({ resource, seq });
            } else if (kind === 'create') {
                const seq = store.nextSeq++;
                typeOf(resource).items.set(id, seq);
                items.put({ resource, id, item: change.item, seq });
            } else if (kind === 'replace') {
                items.put({ resource, id, item: change.item, seq: typeOf(resource).items.get(id) });
            } else if (kind === 'delete') {
                typeOf(resource).items.delete(id);
                items.delete([resource, id]);
            } else if (kind === 'dropType') {
                store.types.delete(resource);
                types.delete(resource);
                items.delete(IDBKeyRange.bound([resource], [resource, []]));
            } else if (kind === 'clearAll') {
                store.types.clear();
                store.singles.clear();
                types.clear();
                items.clear();
                singles.clear();
            } else if (kind === 'putSingle') {
                // A known singular resource keeps its place; a new one goes after the others.
                if (!store.singles.has(resource)) store.singles.set(resource, store.nextSeq++);
                singles.put({ resource, item: change.item, seq: store.singles.get(resource) });
            } else if (kind === 'putRule') {
                // A known rule keeps its place; a new one goes after the others.
                if (!store.rules.has(id)) store.rules.set(id, store.nextSeq++);
                rules.put({ id, rule: change.rule, seq: store.rules.get(id) });
            } else if (kind === 'deleteRule') {
                store.rules.delete(id);
                rules.delete(id);
            } else if (kind === 'clearRules') {
                store.rules.clear();
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
 * Stores what a page's `startMock` says: its namespace, and that namespace's settings, seed and rules
 * (which the namespaces requests made within it follow too). Resolves to `{ seedMoved }`: whether the
 * namespace was started before with another seed.
 */
async function configure(clientId, { namespace: name, settings = {}, seed = null, rules = null, openapi = null }) {
    name = String(name || '').trim() || DEFAULT_NAMESPACE;
    await engineReady;
    // Settings the engine refuses are refused here, to the page, rather than on every request.
    const probe = new wasm_bindgen.MockEndpoint(settings, seed ?? undefined, rules ?? undefined, openapi ?? undefined, false);
    for (const warning of probe.warnings) {
        console.warn(`mock-rest-api: ${warning}`);
    }
    probe.free();
    const registry = await openRegistry();
    const known = await result(registry.transaction('namespaces').objectStore('namespaces').get(name));
    // A namespace started before holds the data of the seed it had then, or at its last reset
    // (`dataSeed`); with another seed now, the page warns, or resets it with `reseed`.
    let dataSeed = seed;
    if (known) {
        dataSeed = known.dataSeed !== undefined ? known.dataSeed : (known.seed ?? null);
    }
    const seedMoved = Boolean(known) && dataSeed !== seed;
    const changed =
        !known ||
        canonical(known.settings) !== canonical(settings) ||
        (known.seed ?? null) !== seed ||
        (known.rules ?? null) !== rules ||
        (known.openapi ?? null) !== openapi;
    const tx = registry.transaction(['namespaces', 'clients'], 'readwrite');
    if (changed) {
        tx.objectStore('namespaces').put({ name, settings, seed, rules, openapi, dataSeed });
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
    if (changed && groups.has(name)) {
        // New settings: the namespace, and those made within it, start again from their stored items.
        groups.get(name).then(dropGroup, () => {});
    }
    await forgetClosedPages(registry);
    return { seedMoved };
}

/** Notes in the registry that a page namespace's data now comes from the seed it has. */
async function dataFromSeed(name) {
    const registry = await openRegistry();
    const tx = registry.transaction('namespaces', 'readwrite');
    const namespaces = tx.objectStore('namespaces');
    const known = await result(namespaces.get(name));
    if (known) {
        namespaces.put({ ...known, dataSeed: known.seed ?? null });
    }
    await done(tx);
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
