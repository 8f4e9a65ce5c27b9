// `import { createMock } from 'mock-rest-api'`: the mock in-process, for tests in Node (node:test,
// vitest, jest): a real CRUD store behind `mock.fetch`, the global fetch for chosen origins, or a
// port of 127.0.0.1. See README.md.
import { Buffer } from 'node:buffer';
import { closestName, NAMESPACE_HEADER, Namespaces, SETTINGS } from './lib/engine.js';
import { baseUrl, close, createServer, listen } from './lib/server.js';

export { SETTINGS };

/** The options of createMock itself; every other option is one of the engine's settings. */
const HOST_OPTIONS = ['seed', 'rules', 'openapi', 'onUnhandledRequest'];

/** What intercepted `fetch` does with a request to an origin it does not intercept. */
const UNHANDLED = ['warn', 'error', 'bypass'];

/** Every name createMock takes: its own options, and each setting by its JavaScript and its variable name. */
const OPTION_NAMES = new Set([...HOST_OPTIONS, ...SETTINGS.map((s) => s.jsName), ...SETTINGS.map((s) => s.name)]);

/** Where a relative URL given to `mock.fetch` is taken to point. */
const RELATIVE_BASE = 'http://localhost';

/** Statuses whose Response has no body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** How many bytes of events the reader of an in-process event stream may leave unread before the endpoint keeps the rest (and bounds it). */
const STREAM_ROOM = 64 * 1024;

/**
 * The body of an event stream answered in-process (`mock.fetch`): the replay, then each event as
 * the reader reads, until it cancels. What the reader leaves waits in the endpoint, which ends a
 * stream that falls too far behind with `event: overflow`.
 */
function eventStream(answer, signal) {
    const subscriber = answer.subscriber;
    return new ReadableStream(
        {
            start(controller) {
                // As with fetch, aborting the request errors a body still being read.
                signal.addEventListener(
                    'abort',
                    () => {
                        subscriber.close();
                        try {
                            controller.error(signal.reason);
                        } catch {
                            // Already closed or cancelled.
                        }
                    },
                    { once: true },
                );
                if (answer.body.length > 0) {
                    controller.enqueue(answer.body.slice());
                }
                subscriber.attach(
                    (bytes) => {
                        controller.enqueue(bytes.slice());
                        return controller.desiredSize > 0;
                    },
                    () => {
                        try {
                            controller.close();
                        } catch {
                            // Already closed or cancelled.
                        }
                    },
                );
            },
            pull() {
                subscriber.resume();
            },
            cancel() {
                subscriber.close();
            },
        },
        { highWaterMark: STREAM_ROOM, size: (chunk) => chunk.length },
    );
}

/**
 * A mock with its own store (per namespace), answering at once, with no process and no port until
 * `listen()`. Throws an Error naming any option that is not a setting or that a setting cannot take,
 * and on a seed, rules or an OpenAPI document that are not valid.
 */
export function createMock(options = {}) {
    checkOptionNames(options);
    const unhandled = options.onUnhandledRequest ?? 'warn';
    if (!UNHANDLED.includes(unhandled)) {
        throw new Error(`mock-rest-api: onUnhandledRequest is one of ${UNHANDLED.map((u) => `'${u}'`).join(', ')}; got ${JSON.stringify(unhandled)}`);
    }
    const settings = {};
    for (const [key, value] of Object.entries(options)) {
        if (!HOST_OPTIONS.includes(key) && value !== undefined) {
            settings[key] = value;
        }
    }
    const namespaces = new Namespaces(settings, {
        seed: options.seed ?? null,
        rules: options.rules ?? null,
        openapi: options.openapi ?? null,
    });
    let intercepted = null;
    let listenedOrigin = null;
    /** The ids of the rules `use` added, which `resetRules` deletes. */
    let used = [];
    let server = null;
    let listening = null;
    let closed = false;
    const open = () => {
        if (closed) throw new Error('mock-rest-api: this mock is closed');
    };

    async function mockFetch(input, init) {
        open();
        const request = input instanceof Request && init === undefined ? input : new Request(absolute(input), init);
        const url = new URL(request.url);
        const headers = [];
        let hasHost = false;
        for (const [name, value] of request.headers) {
            headers.push(name, value);
            hasHost ||= name === 'host';
        }
        if (!hasHost) {
            headers.push('host', url.host);
        }
        // An aborted signal rejects with its reason, as fetch does (see Namespaces.handle).
        request.signal.throwIfAborted();
        // The engine applies the body limit (413) by the core's rule.
        const bytes = new Uint8Array(await request.arrayBuffer());
        const answer = await namespaces.handle(request.method, url.pathname + url.search, headers, bytes, request.signal);
        if (answer.fault === 'reset') {
            // A rule drops the connection: fetch rejects, as on a network failure.
            throw new TypeError('fetch failed: the mock dropped the connection (a rule with fault "reset")');
        }
        if (answer.subscriber) {
            return new Response(eventStream(answer, request.signal), { status: answer.status, headers: answer.headers });
        }
        const body = NULL_BODY.has(answer.status) || request.method === 'HEAD' ? null : answer.body;
        return new Response(body, { status: answer.status, headers: answer.headers });
    }

    /**
     * An admin request to the default namespace or `namespace`, answered by the engine at once
     * (with the token, when the mock has one): the answer's JSON, or an Error with its message.
     */
    function admin(method, path, json, namespace = 'default') {
        const headers = ['content-type', 'application/json', NAMESPACE_HEADER, String(namespace)];
        const token = settings.apiToken ?? settings.API_TOKEN;
        if (token) {
            headers.push('authorization', `Bearer ${token}`);
        }
        const body = json === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(json));
        const answer = namespaces.answer(method, path, headers, body);
        const text = Buffer.from(answer.body).toString('utf8');
        const parsed = text ? JSON.parse(text) : null;
        if (answer.status >= 300) {
            throw new Error(`mock-rest-api: ${parsed?.message ?? `${method} ${path} answered ${answer.status}`}`);
        }
        return parsed;
    }

    /** `POST /__admin/requests/find` in `namespace`. */
    function find(match, namespace) {
        return admin('POST', '/__admin/requests/find', match ?? {}, namespace);
    }

    const mock = {
        /**
         * Answers like `fetch(input, init)`, from the mock. A relative URL is on http://localhost.
         * `init.signal` is honoured as fetch honours it, and delays wait on the global `setTimeout`.
         */
        fetch: mockFetch,

        /**
         * Answers the global `fetch` from the mock for these origins (such as
         * `'https://api.example.com'`) until `restore()`; other requests go to the real fetch.
         */
        intercept(origins) {
            open();
            const list = (Array.isArray(origins) ? origins : [origins]).map((origin) => new URL(origin).origin);
            if (intercepted) {
                list.forEach((origin) => intercepted.origins.add(origin));
                return mock;
            }
            const original = globalThis.fetch;
            const state = { origins: new Set(list), original };
            state.patched = function fetch(input, init) {
                let url = null;
                try {
                    url = new URL(input instanceof Request ? input.url : String(input));
                } catch {
                    // Not an absolute URL: the real fetch says what is wrong with it.
                }
                if (url !== null && state.origins.has(url.origin)) {
                    return mockFetch(input, init);
                }
                // The mock's own port (listen()) is the mock too, not an unhandled request.
                if (url !== null && url.origin !== listenedOrigin) {
                    const method = (input instanceof Request ? input.method : init?.method) ?? 'GET';
                    const what = `${method.toUpperCase()} ${url.href}: the mock intercepts ${[...state.origins].join(', ')}, not ${url.origin}`;
                    if (unhandled === 'error') {
                        return Promise.reject(new TypeError(`mock-rest-api: unhandled request ${what} (onUnhandledRequest: 'error')`));
                    }
                    if (unhandled === 'warn') {
                        console.warn(`mock-rest-api: unhandled request ${what}; it goes to the network (onUnhandledRequest: 'warn'; 'bypass' is silent, 'error' rejects)`);
                    }
                }
                return original(input, init);
            };
            globalThis.fetch = state.patched;
            intercepted = state;
            return mock;
        },

        /** Gives the global `fetch` back as it was before `intercept`. */
        restore() {
            if (intercepted) {
                if (globalThis.fetch === intercepted.patched) {
                    globalThis.fetch = intercepted.original;
                }
                intercepted = null;
            }
            return mock;
        },

        /** Serves the mock on a free port of 127.0.0.1 and resolves to its base URL. */
        listen() {
            open();
            if (!listening) {
                server = createServer(namespaces, (line) => process.stderr.write(`mock-rest-api: ${line}\n`));
                listening = listen(server, 0, '127.0.0.1')
                    .then(baseUrl)
                    .then((base) => {
                        listenedOrigin = new URL(base).origin;
                        return base;
                    });
            }
            return listening;
        },

        /**
         * The recorded requests that `match` (a rule's `match` object: `method`, `path`, `query`,
         * `body`) matches, oldest first, as `GET /__admin/requests` lists them. `namespace` defaults
         * to `"default"`.
         */
        calls(match = {}, { namespace = 'default' } = {}) {
            open();
            return find(match, namespace).requests;
        },

        /**
         * Throws unless the number of recorded requests that `match` matches is `times`, or at
         * least `atLeast`, or at most `atMost` (with none of them: at least one). The Error's
         * message shows the closest requests that did not match, and what each missed.
         */
        verify(match = {}, { times, atLeast, atMost, namespace = 'default' } = {}) {
            open();
            const found = find(match, namespace);
            const count = found.requests.length;
            const bounds = [times, atLeast, atMost].filter((bound) => bound !== undefined);
            for (const bound of bounds) {
                if (!Number.isInteger(bound) || bound < 0) {
                    throw new TypeError(`mock-rest-api: verify: times, atLeast and atMost are whole numbers; got ${bound}`);
                }
            }
            const expected =
                times !== undefined
                    ? { ok: count === times, words: `exactly ${times}` }
                    : atLeast === undefined && atMost === undefined
                      ? { ok: count >= 1, words: 'at least 1' }
                      : {
                            ok: (atLeast === undefined || count >= atLeast) && (atMost === undefined || count <= atMost),
                            words: [atLeast !== undefined && `at least ${atLeast}`, atMost !== undefined && `at most ${atMost}`].filter(Boolean).join(' and '),
                        };
            if (!expected.ok) {
                throw new Error(verifyMessage(match, expected.words, found));
            }
            return mock;
        },

        /**
         * Adds rules (as `POST /__admin/rules` takes them) to the default namespace until
         * `resetRules()` or `reset()`: the newest win over the rules the mock started with, as
         * MSW's `server.use` overrides its handlers for one test. A bad rule throws naming its
         * field, and then none of these rules is added.
         */
        use(...rules) {
            open();
            const added = [];
            try {
                for (const rule of rules) {
                    added.push(admin('POST', '/__admin/rules', rule).id);
                }
            } catch (err) {
                for (const id of added) {
                    admin('DELETE', `/__admin/rules/${encodeURIComponent(id)}`);
                }
                throw err;
            }
            used.push(...added);
            return mock;
        },

        /** Deletes the rules `use` added (those whose `times` are not used up yet). */
        resetRules() {
            open();
            for (const id of used) {
                try {
                    admin('DELETE', `/__admin/rules/${encodeURIComponent(id)}`);
                } catch {
                    // Gone already: its `times` were used up, or it was deleted over HTTP.
                }
            }
            used = [];
            return mock;
        },

        /** A namespace's store (default `"default"`) as `{"type": [items]}`. */
        snapshot(namespace = 'default') {
            open();
            return JSON.parse(namespaces.snapshot(String(namespace)));
        },

        /** Starts every namespace again from the seed (or empty), its journal included. */
        reset() {
            open();
            used = [];
            namespaces.clear();
            return mock;
        },

        /** Restores the global fetch, stops listening and frees the store. Resolves when done. */
        async close() {
            if (closed) return;
            mock.restore();
            closed = true;
            if (server) {
                await listening.catch(() => {});
                await close(server, true);
            }
            namespaces.free();
        },
    };
    return mock;
}

/**
 * Throws on an option createMock does not take, naming it and the closest one it does (a
 * misspelt `seeds` or `delay` would otherwise be read as a setting's variable name).
 */
function checkOptionNames(options) {
    for (const key of Object.keys(options)) {
        if (OPTION_NAMES.has(key) || options[key] === undefined) {
            continue;
        }
        const jsNames = [...HOST_OPTIONS, ...SETTINGS.map((s) => s.jsName)];
        const closest = closestName(key, jsNames);
        const hint = closest ? `; did you mean \`${closest}\`?` : '.';
        throw new Error(`mock-rest-api: \`${key}\` is not an option of createMock${hint} The options are ${jsNames.join(', ')}.`);
    }
}

/** Why `verify` failed: the count against what was expected, and the near misses. */
function verifyMessage(match, words, found) {
    const line = (entry) => `${entry.method} ${entry.path}${entry.query ? `?${entry.query}` : ''}${entry.body ? ` ${entry.body}` : ''}`;
    const lines = [`mock-rest-api: expected ${words} request(s) matching ${JSON.stringify(match)}, got ${found.requests.length}.`];
    if (found.nearMisses.length > 0) {
        lines.push('The closest requests that did not match:');
        for (const near of found.nearMisses) {
            lines.push(`  ${line(near.request)}  (missed: ${near.differences.join(', ')})`);
        }
    } else if (found.requests.length === 0) {
        lines.push('The journal holds no requests.');
    }
    return lines.join('\n');
}

function absolute(input) {
    if (typeof input === 'string' && input.startsWith('/')) {
        return RELATIVE_BASE + input;
    }
    return input instanceof URL ? input.href : input;
}
