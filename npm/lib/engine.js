// The endpoint, compiled to wasm (web-engine/, `wasm-bindgen --target nodejs` into dist/node/ by
// scripts/node.sh), and what every Node entry point does with it: a request in on the wire, the
// endpoint's effects carried out in order (Node stores nothing: no open, forget or persist), the
// delay waited by a timer, the change feed's bytes written as the endpoint gives them.
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { send } from './proxy.js';

const require = createRequire(import.meta.url);
const wasm = require('../dist/node/mock_rest_web.js');
// The wire's reader, the service worker's own (web/mock-wire.js, copied beside the wasm's glue).
const { decode } = require('../dist/node/mock-wire.js');

/** The engine's settings, from the core's table: `{name, flag, jsName, default, help, secret}`. */
export const SETTINGS = Object.freeze(wasm.settings().map((setting) => Object.freeze(setting)));

/** What a host needs to keep an event stream alive: `{keepAlive, keepAliveMs}`. */
export const FEED = Object.freeze(wasm.feedConstants());

/** The wire's tags, from the one table of web-engine/src/wire.rs. */
const TAG = Object.freeze(wasm.wireLayout().tags);

/** How far past the body limit an oversized body is read (and dropped) before reading stops: the core's rule. */
export const DRAIN_BYTES = wasm.drainBytes();

/** The name among `candidates` spelt closest to `name`, when close enough to be a slip (the core's rule), else undefined. */
export function closestName(name, candidates) {
    return wasm.closestName(name, candidates);
}

/** The header that names a request's namespace, as the engine reads it (for requests of the host's own). */
export const NAMESPACE_HEADER = wasm.namespaceHeader();

/** The start log's line for fixtures that look like json-server's db.json (every item has an `id`), or undefined: the core's words. */
export function jsonServerHint(text) {
    return wasm.jsonServerHint(text);
}

/**
 * A request target (path and query) as the request log writes it: the value of every
 * `access_token` parameter is `REDACTED`, by the rule the journal keeps. Only a target that could
 * hold one (by name, or percent-encoded) goes to the engine.
 */
export function loggedTarget(target) {
    return target.includes('access_token') || target.includes('%') ? wasm.redactTarget(target) : target;
}

/**
 * One open `/__admin/events` stream. What it has to send waits in the endpoint (which bounds it and
 * sends `event: overflow` past the bound) until the host is ready: `attach(sink, end)` starts the
 * writing; `sink(bytes)` returns false when the host wants no more for now, and `resume()` says it
 * does again; `end()` is called when the endpoint ends the stream.
 */
export class Subscriber {
    constructor(namespaces, id) {
        this.namespaces = namespaces;
        this.id = id;
        this.sink = null;
        this.end = null;
        this.ready = false;
        this.closed = false;
    }

    /** Sends what waits, then every later event, to `sink(bytes)`. */
    attach(sink, end = null) {
        this.sink = sink;
        this.end = end;
        this.resume();
    }

    /** The host wants bytes again. */
    resume() {
        this.ready = this.sink !== null;
        this.pump();
    }

    /** The endpoint queued bytes for this stream. */
    woken() {
        this.pump();
    }

    pump() {
        while (this.ready && !this.closed) {
            const read = this.namespaces.endpoint.readStream(this.id);
            if (read.end) {
                this.closed = true;
                this.namespaces.streams.delete(this.id);
                if (read.bytes.length > 0) this.sink(read.bytes);
                if (this.end) this.end();
                return;
            }
            if (read.bytes.length === 0) return;
            this.ready = this.sink(read.bytes) !== false;
        }
    }

    /** The reader went away: the endpoint forgets the stream. */
    close() {
        if (this.closed) return;
        this.closed = true;
        this.namespaces.streams.delete(this.id);
        this.namespaces.endpoint?.closeStream(this.id);
    }
}

/** The seed as text: `null`, JSON text as it is, or an object written as JSON. */
export function seedText(seed) {
    if (seed === undefined || seed === null) {
        return null;
    }
    return typeof seed === 'string' ? seed : JSON.stringify(seed);
}

/**
 * Every namespace, behind one endpoint. `settings` maps the engine's setting names (or their
 * JavaScript forms) to strings, numbers or arrays of strings; the engine checks them, and a bad
 * one throws an Error naming it.
 */
export class Namespaces {
    /**
     * `seed`, `rules` and `openapi`: what every namespace starts from (text, an object or an
     * array, or `null`; an OpenAPI document as JSON or YAML text, or an object); one that is not
     * valid throws an Error whose `part` is `'fixtures'`, `'rules'` or `'openapi'`.
     * `publiclyReachable`: the host listens beyond loopback, so the homepage warns when no token
     * guards the data (as the native server's does).
     */
    constructor(settings, { seed = null, rules = null, openapi = null, publiclyReachable = false, writeBack = null } = {}) {
        this.settings = { ...settings };
        this.seed = seedText(seed);
        this.rules = seedText(rules);
        this.openapi = seedText(openapi);
        this.streams = new Map();
        this.endpoint = new wasm.MockEndpoint(
            this.settings,
            this.seed ?? undefined,
            this.rules ?? undefined,
            this.openapi ?? undefined,
            // Under JSON_SERVER=1 with a file, the engine reports its changes (`persist`), so the
            // default namespace's data is written back after each one.
            writeBack !== null,
            Boolean(publiclyReachable),
        );
        // Read once: the settings never change.
        this.bodyLimit = this.endpoint.maxBodyBytes;
        this.uriLimit = this.endpoint.maxUriBytes;
        // The default namespace always exists, as on the native server.
        this.carry(this.endpoint.open('default'));
        // Set once the start is done: opening the default namespace changes nothing of the file.
        this.writeBack = writeBack;
    }

    /** The default namespace's data as json-server writes its db.json (JSON_SERVER=1's file). */
    databaseFile() {
        return this.endpoint.databaseFile('default');
    }

    /** What the settings say that has no effect, for the host to log. */
    get warnings() {
        return this.endpoint.warnings;
    }

    /** A setting's value as given (by its name or JavaScript form), else its default, as text. */
    setting(name) {
        const setting = SETTINGS.find((s) => s.name === name);
        for (const key of [setting.name, setting.jsName]) {
            const value = this.settings[key];
            if (value !== undefined && value !== null && String(value).trim() !== '') {
                return String(value).trim();
            }
        }
        return setting.default;
    }

    /** The largest request body the settings allow, in bytes. */
    get maxBodyBytes() {
        return this.bodyLimit;
    }

    /** The longest path and query the settings allow, in bytes. */
    get maxUriBytes() {
        return this.uriLimit;
    }

    /** The most bytes read of a file the settings name (fixtures, rules, a data file): twice MAX_STORE_BYTES. */
    get maxFileBytes() {
        return this.endpoint.maxFileBytes;
    }

    /** Why a file past `maxFileBytes` is not read, in the words after its name. */
    get fileTooLarge() {
        return this.endpoint.fileTooLarge;
    }

    /** The answer (`408`, JSON) to a request whose body did not arrive within the body timeout. */
    requestTimedOut(method, target, headers) {
        return flat(this.endpoint.requestTimedOut(method, target, headers));
    }

    /** The answer (`500`, JSON, with CORS) to a request the host itself failed to answer. */
    hostFailed(message, method, target, headers) {
        return flat(this.endpoint.hostFailed(message, method, target, headers));
    }

    /** The answer (JSON) to a request node:http's parser could not read, by the parser's error code. */
    unparsed(code) {
        return flat(this.endpoint.unparsed(code));
    }

    /**
     * Makes `seed` (text, an object, or `null`) the store every namespace starts from, and starts
     * every namespace again from it (each open stream gets a `reset` event). A seed that is not
     * valid throws and changes nothing.
     */
    setSeed(seed) {
        const text = seedText(seed);
        // The file the seed came from is not written back with itself.
        const writeBack = this.writeBack;
        this.writeBack = null;
        try {
            this.carry(this.endpoint.reseed(text ?? undefined, this.rules ?? undefined, this.openapi ?? undefined));
        } finally {
            this.writeBack = writeBack;
        }
        this.seed = text;
    }

    /**
     * Makes `rules` (an array of rules as `GET /__admin/rules` lists them, its JSON text, or
     * `null`) the rules every namespace starts with and `POST /__admin/reset` restores, and starts
     * every namespace again. Rules that are not valid throw, naming the field, and change nothing.
     */
    setRules(rules) {
        const text = seedText(rules);
        this.carry(this.endpoint.reseed(this.seed ?? undefined, text ?? undefined, this.openapi ?? undefined));
        this.rules = text;
    }

    /** Drops every namespace, with its journal and open streams; each starts again from the seed. */
    clear() {
        this.carry(this.endpoint.clear());
        this.carry(this.endpoint.open('default'));
    }

    /** A namespace's store as snapshot JSON text (the namespace is made from the seed if new). */
    snapshot(name) {
        this.carry(this.endpoint.open(name));
        return this.endpoint.snapshot(name);
    }

    /** Ends every stream and frees the endpoint; the instance is unusable afterwards. */
    free() {
        for (const subscriber of [...this.streams.values()]) {
            subscriber.closed = true;
            if (subscriber.end) subscriber.end();
        }
        this.streams.clear();
        this.endpoint.free();
        this.endpoint = null;
    }

    /**
     * Answers one request now: `method`, `target` (path and query as on the wire), `headers` (names
     * and values alternating, as node:http's `rawHeaders`) and `body` (a Uint8Array; past
     * `maxBodyBytes` the engine answers 413). Returns `{status, headers, body, delay, fault}`, with
     * `headers` as names and values alternating; the host waits `delay` milliseconds before it
     * answers, and `fault: 'reset'` asks it to drop the connection instead. For an accepted
     * `/__admin/events` it also has `subscriber` (registered now, so that no event is missed during
     * the delay: the host attaches a sink, and closes it when done); for a request to forward to
     * PROXY_TARGET, `forward` (see `forwarded`).
     */
    answer(method, target, headers, body) {
        if (!this.endpoint) {
            throw new Error('mock-rest-api: this mock is closed');
        }
        // One call each way (see web-engine/src/wire.rs), through buffers kept in the engine's
        // memory; no header holds `\n`.
        const head = headers.length > 0 ? `${method}\n${target}\n${headers.join('\n')}` : `${method}\n${target}`;
        const most = head.length * 3 + body.length;
        if (most > wire.room || (wire.room > WIRE_ROOM && most <= WIRE_ROOM)) {
            // More room for a large request, or the room of the last large one given back.
            wire.room = Math.max(most, WIRE_ROOM);
            wire.request = wasm.wireRequest(wire.room);
        }
        const memory = wireBytes();
        const length = memory.write(head, wire.request, most, 'utf8');
        memory.set(body, wire.request + length);
        return this.carry(this.endpoint.handleWire(length + body.length, length));
    }

    /**
     * Carries out an answer of the wire at `at`: publishes and wakes the streams, and returns the
     * rest as `answer` describes it.
     */
    carry(at) {
        const outcome = decodeWire(wireBytes(), at);
        if (outcome.persist !== null) {
            // Only with a write-back (JSON_SERVER=1 and a file): the changes themselves are not
            // kept here; the default namespace's data, whole, goes into the file before the answer.
            let changed = false;
            for (const { namespace, held } of outcome.persist) {
                this.endpoint.takeChanges(held);
                changed ||= namespace === 'default';
            }
            if (changed && this.writeBack) {
                this.writeBack(this.databaseFile());
            }
        }
        if (outcome.publish !== null) {
            for (const number of outcome.publish) {
                this.wake(this.endpoint.publish(number));
            }
        }
        if (outcome.wake !== null) {
            this.wake(outcome.wake);
        }
        if (outcome.held !== 0) {
            // PROXY_TARGET: the host sends this, then `forwarded` asks the engine what to answer.
            outcome.forward = this.endpoint.takeForward(outcome.held);
        }
        if (outcome.stream !== null) {
            const subscriber = new Subscriber(this, outcome.stream);
            this.streams.set(outcome.stream, subscriber);
            outcome.subscriber = subscriber;
        }
        return outcome;
    }

    /** Tells each woken stream that it has bytes to read. */
    wake(ids) {
        for (const id of ids) {
            this.streams.get(id)?.woken();
        }
    }

    /**
     * For an `answer` with `forward` (PROXY_TARGET): sends it to the target, then resolves to what
     * the engine makes of the target's answer (or of its failure), as `answer` returns it. When
     * `signal` aborts first, the exchange with the target is cut, the engine is told the target
     * could not be reached, and this rejects with the signal's reason, as `fetch` does.
     */
    async forwarded(outcome, signal) {
        const got = await send(outcome.forward, signal);
        if (!this.endpoint) {
            throw new Error('mock-rest-api: this mock is closed');
        }
        if (got.failure === 'aborted') {
            this.carry(this.endpoint.upstreamFailed(outcome.ticket, 'unreachable', 'the client aborted the request'));
            throw got.reason;
        }
        const at = got.failure
            ? this.endpoint.upstreamFailed(outcome.ticket, got.failure, got.reason || '')
            : this.endpoint.upstream(outcome.ticket, got.status, got.headers, got.body);
        return this.carry(at);
    }

    /**
     * Answers one request: `method`, `target` (path and query as on the wire), `headers` (names and
     * values alternating) and `body` (a Uint8Array; past `maxBodyBytes` the engine answers 413).
     * Resolves, after the delay the engine asks for, to `{status, headers, body}`, with `headers`
     * as `[name, value]` pairs, and for an event stream also `subscriber` (see `answer`).
     *
     * `signal` (an AbortSignal) is honoured as `fetch` honours it: aborted before the call, the
     * engine never sees the request; aborted while the request waits (its delay, the proxy's
     * target), this rejects at once with the signal's reason, and what the engine already did
     * (a write) stays done, as on a server whose client gave up. The delay is waited with the
     * global `setTimeout`, so a test's fake timers control it.
     */
    async handle(method, target, headers, body, signal) {
        signal?.throwIfAborted();
        let outcome = this.answer(method, target, headers, body);
        while (outcome.forward) {
            outcome = await this.forwarded(outcome, signal);
        }
        if (outcome.delay > 0) {
            try {
                await wait(outcome.delay, signal);
            } catch (reason) {
                outcome.subscriber?.close();
                throw reason;
            }
        }
        const pairs = [];
        for (let i = 0; i < outcome.headers.length; i += 2) {
            pairs.push([outcome.headers[i], outcome.headers[i + 1]]);
        }
        return { ...outcome, headers: pairs };
    }
}

/**
 * Resolves after `ms` milliseconds, by the global `setTimeout` as it is when called (a test's fake
 * timers included); rejects with `signal`'s reason as soon as it aborts.
 */
function wait(ms, signal) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(signal.reason);
            return;
        }
        const stop = () => {
            clearTimeout(timer);
            reject(signal.reason);
        };
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', stop);
            resolve();
        }, ms);
        signal?.addEventListener('abort', stop, { once: true });
    });
}

/** The room for requests kept in the engine's memory between calls: 64 KiB (a larger one gets more, given back after it). */
const WIRE_ROOM = 64 * 1024;

/** Where the endpoint reads requests: their address in the engine's memory, and its room. */
const wire = { request: 0, room: -1 };

const wasmMemory = wasm.wireMemory();
let wasmBytes = Buffer.from(wasmMemory.buffer);

/** The engine's memory as a Buffer: made again when the memory grew (the old one is then empty). */
function wireBytes() {
    if (wasmBytes.length === 0) {
        wasmBytes = Buffer.from(wasmMemory.buffer);
    }
    return wasmBytes;
}

/** The answer of the wire at `at` in the engine's memory (layout: web-engine/src/wire.rs). */
function decodeWire(memory, at) {
    return decode(memory, at, TAG, (from, to) => memory.toString('utf8', from, to));
}

/** A response of the engine (headers as `[name, value]` pairs) as `answer` returns one. */
function flat(response) {
    return { status: response.status, headers: response.headers.flat(), body: response.body, delay: 0, fault: undefined };
}
