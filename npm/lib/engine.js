// The engine, compiled to wasm (web-engine/, `wasm-bindgen --target nodejs` into dist/node/ by
// scripts/node.sh), and what every Node entry point does with it: settings in, a namespace per
// X-Mock-Namespace, one request at a time through the engine, the delay waited by a timer.
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { send } from './proxy.js';

const require = createRequire(import.meta.url);
const wasm = require('../dist/node/mock_rest_web.js');

/** The engine's settings, from the core's table: `{name, flag, jsName, default, help, secret}`. */
export const SETTINGS = Object.freeze(wasm.settings().map((setting) => Object.freeze(setting)));

/** What a host needs to deliver the change feed: `{keepAlive, keepAliveMs, overflow, bufferBytes}`. */
export const FEED = Object.freeze(wasm.feedConstants());

/** How far past the body limit an oversized body is read (and dropped) before reading stops: the core's rule. */
export const DRAIN_BYTES = wasm.drainBytes();

/**
 * A request target (path and query) as the request log writes it: the value of every
 * `access_token` parameter is `REDACTED`, by the rule the journal keeps. Only a target that could
 * hold one (by name, or percent-encoded) goes to the engine.
 */
export function loggedTarget(target) {
    return target.includes('access_token') || target.includes('%') ? wasm.redactTarget(target) : target;
}

/**
 * One open `/__admin/events` stream. It is registered when the engine accepts the request, before
 * any delay, so no event is missed; events wait in `queue` until the host attaches a `sink`.
 */
export class Subscriber {
    constructor(types, set) {
        this.types = types;
        this.set = set;
        this.queue = [];
        this.queued = 0;
        this.sink = null;
        this.onOverflow = null;
    }

    /** The core's rule (Subscription::wants): an event of no type reaches everyone. */
    wants(type) {
        return type === null || type === undefined || this.types.length === 0 || this.types.includes(type);
    }

    push(bytes) {
        if (this.sink) {
            this.sink(bytes);
            return;
        }
        this.queue.push(bytes);
        this.queued += bytes.length;
        if (this.queued > FEED.bufferBytes) {
            this.queue = [FEED.overflow];
            this.close();
        }
    }

    /**
     * Sends what waited, then every later event, to `sink(bytes)`; `end()` is called when the mock
     * ends the stream itself (its namespaces start again).
     */
    attach(sink, end = null) {
        this.end = end;
        for (const bytes of this.queue.splice(0)) {
            sink(bytes);
        }
        this.sink = sink;
    }

    /** Stops delivery; the host ends the stream. */
    close() {
        this.set.delete(this);
    }
}

/** How many namespaces a host holds unless told otherwise (`MAX_NAMESPACES`). */
export const DEFAULT_MAX_NAMESPACES = 1000;

/** The seed as text: `null`, JSON text as it is, or an object written as JSON. */
export function seedText(seed) {
    if (seed === undefined || seed === null) {
        return null;
    }
    return typeof seed === 'string' ? seed : JSON.stringify(seed);
}

/**
 * Every namespace's engine, made on first use from the same settings and seed. `settings` maps the
 * engine's setting names (or their JavaScript forms) to strings, numbers or arrays of strings; the
 * engine checks them, and a bad one (or a bad seed) throws an Error naming it.
 */
export class Namespaces {
    /**
     * `publiclyReachable`: the host listens beyond loopback, so the homepage warns when no token
     * guards the data (as the native server's does).
     */
    constructor(settings, seed, maxNamespaces = DEFAULT_MAX_NAMESPACES, publiclyReachable = false) {
        if (!Number.isSafeInteger(maxNamespaces) || maxNamespaces < 1) {
            throw new Error(`MAX_NAMESPACES=${maxNamespaces}: a whole number, at least 1`);
        }
        this.settings = { ...settings };
        this.maxNamespaces = maxNamespaces;
        this.publiclyReachable = Boolean(publiclyReachable);
        this.seed = null;
        this.rules = null;
        this.engines = new Map();
        // The open event streams, per namespace; MAX_SUBSCRIBERS counts them all.
        this.subscribers = new Map();
        // Answers what comes before a namespace (a bad name, too many) with the headers of any
        // answer; it never stores anything.
        this.front = new wasm.MockEngine(this.settings, null, null, this.publiclyReachable);
        // Read once: the settings never change. The namespace of a request without the
        // X-Mock-Namespace header, by the core's rule.
        this.bodyLimit = this.front.maxBodyBytes;
        this.defaultNamespace = this.front.namespaceOf('GET', '/', []).name;
        this.setSeed(seed);
    }

    /** What the settings say that has no effect, for the host to log. */
    get warnings() {
        return this.front.warnings;
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

    /** The most bytes read of a file the settings name (fixtures, rules, a data file): twice MAX_STORE_BYTES. */
    get maxFileBytes() {
        return this.front.maxFileBytes;
    }

    /** Why a file past `maxFileBytes` is not read, in the words after its name. */
    get fileTooLarge() {
        return this.front.fileTooLarge;
    }

    /** The answer (`408`, JSON) to a request whose body did not arrive within the body timeout. */
    requestTimedOut(method, target, headers) {
        return flat(this.front.requestTimedOut(method, target, headers));
    }

    /**
     * Makes `seed` (text or `null`) the store every namespace starts from, and starts every
     * namespace again from it. A seed that is not valid throws and changes nothing.
     */
    setSeed(seed) {
        const text = seedText(seed);
        if (text !== null) {
            // Checked whole before anything changes.
            new wasm.MockEngine(this.settings, text, null, this.publiclyReachable).free();
        }
        this.seed = text;
        this.clear();
    }

    /**
     * Makes `rules` (an array of rules as `GET /__admin/rules` lists them, its JSON text, or
     * `null`) the rules every namespace starts with and `POST /__admin/reset` restores, and starts
     * every namespace again. Rules that are not valid throw, naming the field, and change nothing.
     */
    setRules(rules) {
        const text = seedText(rules);
        if (text !== null) {
            new wasm.MockEngine(this.settings, null, text, this.publiclyReachable).free();
        }
        this.rules = text;
        this.clear();
    }

    /** How many event streams are open, in every namespace. */
    get subscriberCount() {
        let count = 0;
        for (const set of this.subscribers.values()) {
            count += set.size;
        }
        return count;
    }

    /** Starts every namespace again from the seed; open event streams end (their sequence would restart). */
    clear() {
        for (const set of this.subscribers.values()) {
            for (const subscriber of [...set]) {
                subscriber.close();
                if (subscriber.end) {
                    subscriber.end();
                }
            }
        }
        this.subscribers.clear();
        for (const engine of this.engines.values()) {
            engine.free();
        }
        this.engines.clear();
    }

    /** Frees every engine; the instance is unusable afterwards. */
    free() {
        this.clear();
        this.front.free();
        this.front = null;
    }

    /** The engine of a namespace, made from the seed when `create` and it is new. */
    engine(name, create = true) {
        let engine = this.engines.get(name);
        if (!engine && create) {
            engine = new wasm.MockEngine(this.settings, this.seed, this.rules, this.publiclyReachable);
            this.engines.set(name, engine);
        }
        return engine;
    }

    /**
     * Answers one request now: `method`, `target` (path and query as on the wire), `headers` (names
     * and values alternating, as node:http's `rawHeaders`) and `body` (a Uint8Array; past
     * `maxBodyBytes` the engine answers 413). Returns `{status, headers, body, delay, fault}`, with
     * `headers` as names and values alternating; the host waits `delay` milliseconds before it
     * answers, and `fault: 'reset'` asks it to drop the connection instead. For an accepted
     * `/__admin/events` it also has `subscriber` (a Subscriber, registered now so that no event is
     * missed during the delay: the host attaches a sink, and closes it when done).
     */
    answer(method, target, headers, body) {
        if (!this.front) {
            throw new Error('mock-rest-api: this mock is closed');
        }
        let name = this.defaultNamespace;
        if (namesNamespace(headers)) {
            const picked = this.front.namespaceOf(method, target, headers);
            if (picked.response) {
                return flat(picked.response);
            }
            name = picked.name;
        }
        let engine = this.engines.get(name);
        if (!engine) {
            if (this.engines.size >= this.maxNamespaces) {
                return flat(this.front.tooManyNamespaces(method, target, headers, this.maxNamespaces));
            }
            engine = this.engine(name);
        }
        // One call each way (see handleWire in web-engine/src/bindings.rs), through buffers kept in
        // the engine's memory; no header holds `\n`.
        const head = headers.length > 0 ? `${method}\n${target}\n${headers.join('\n')}` : `${method}\n${target}`;
        const most = head.length * 3 + body.length;
        if (most > wire.room || (wire.room > WIRE_ROOM && most <= WIRE_ROOM)) {
            // More room for a large request, or the room of the last large one given back.
            wire.room = Math.max(most, WIRE_ROOM);
            wire.request = wasm.wireRequest(wire.room);
        }
        let memory = wireBytes();
        const length = memory.write(head, wire.request, most, 'utf8');
        memory.set(body, wire.request + length);
        let at = engine.handleWire(length + body.length, length, false);
        // The engine may have grown its memory.
        memory = wireBytes();
        if (memory[at + 7] & NEEDS_NAMESPACES) {
            // `/health` and the homepage list every namespace with its item count.
            const names = [...this.engines.keys()].sort();
            engine.setNamespaces(names, Uint32Array.from(names, (each) => this.engines.get(each).itemCount));
            at = engine.handleWire(length + body.length, length, true);
            memory = wireBytes();
        }
        const outcome = decodeWire(memory, at);
        if (memory[at + 7] & FORWARD) {
            // PROXY_TARGET: the host sends this, then `forwarded` asks the engine what to answer.
            outcome.forward = engine.takeForward();
            outcome.engine = engine;
            outcome.namespace = name;
        }
        if (outcome.events.length > 0) {
            this.publish(name, outcome.events);
        }
        if (outcome.subscribe) {
            let set = this.subscribers.get(name);
            if (this.subscriberCount >= engine.maxSubscribers) {
                return flat(engine.tooManySubscribers(method, target, headers));
            }
            if (!set) {
                set = new Set();
                this.subscribers.set(name, set);
            }
            const subscriber = new Subscriber(outcome.subscribe.types, set);
            set.add(subscriber);
            outcome.subscriber = subscriber;
        }
        return outcome;
    }

    /** Sends a namespace's events to its open streams that want them. */
    publish(name, events) {
        const set = this.subscribers.get(name);
        if (!set) {
            return;
        }
        for (const event of events) {
            for (const subscriber of set) {
                if (subscriber.wants(event.type)) {
                    subscriber.push(event.bytes);
                }
            }
        }
    }

    /**
     * For an `answer` with `forward` (PROXY_TARGET): sends it to the target, then resolves to what
     * the engine makes of the target's answer (or of its failure), as `answer` returns it.
     */
    async forwarded(outcome) {
        const got = await send(outcome.forward);
        const { engine, namespace } = outcome;
        if (this.engines.get(namespace) !== engine) {
            // The namespaces started again (a new seed) while the target answered.
            throw new Error('the namespace was reset while the proxy target answered');
        }
        const after = got.failure
            ? engine.proxyFailed(outcome.forward.id, got.failure, got.reason || '')
            : engine.proxied(outcome.forward.id, got.status, got.headers, got.body);
        this.publish(namespace, after.events || []);
        return flat(after, after.delay);
    }

    /**
     * Answers one request: `method`, `target` (path and query as on the wire), `headers` (names and
     * values alternating) and `body` (a Uint8Array; past `maxBodyBytes` the engine answers 413).
     * Resolves, after the delay the engine asks for, to `{status, headers, body}`, with `headers`
     * as `[name, value]` pairs, and for an event stream also `subscriber` (see `answer`).
     */
    async handle(method, target, headers, body) {
        let outcome = this.answer(method, target, headers, body);
        if (outcome.forward) {
            outcome = await this.forwarded(outcome);
        }
        if (outcome.delay > 0) {
            await sleep(outcome.delay);
        }
        const pairs = [];
        for (let i = 0; i < outcome.headers.length; i += 2) {
            pairs.push([outcome.headers[i], outcome.headers[i + 1]]);
        }
        return { ...outcome, headers: pairs };
    }
}

/** Whether `headers` (names and values alternating) has an X-Mock-Namespace header. */
function namesNamespace(headers) {
    for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i];
        if (name.length === 16 && name.toLowerCase() === 'x-mock-namespace') {
            return true;
        }
    }
    return false;
}

/** A response object of the engine (`headers` as pairs) as `answer` returns it. */
function flat(response, delay = 0) {
    return { status: response.status, headers: response.headers.flat(), body: response.body, delay, fault: undefined };
}

/** The flag of `MockEngine.handleWire`'s answer that says the request is to be forwarded. */
const FORWARD = 2;

/** The flag of `MockEngine.handleWire`'s answer that asks for the namespaces first. */
const NEEDS_NAMESPACES = 4;

/** The room for requests kept in the engine's memory between calls: 64 KiB (a larger one gets more, given back after it). */
const WIRE_ROOM = 64 * 1024;

/** Where `MockEngine.handleWire` reads requests: their address in the engine's memory, and its room. */
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

/**
 * The answer of `MockEngine.handleWire`, at `start` in `memory` (its layout is there), as `answer`
 * returns it: what it keeps is copied out, since the engine writes its next answer in the same place.
 */
function decodeWire(memory, start) {
    const end = start + memory.readUInt32LE(start);
    let at = start + 12;
    // The headers: their lengths, then one text holding them all.
    const headers = new Array(memory.readUInt32LE(at) * 2);
    at += 4;
    const lengths = at;
    at += headers.length * 4;
    const bytes = memory.readUInt32LE(at);
    at += 4;
    const all = memory.toString('utf8', at, at + bytes);
    at += bytes;
    let from = 0;
    for (let i = 0; i < headers.length; i++) {
        const to = from + memory.readUInt32LE(lengths + i * 4);
        headers[i] = all.slice(from, to);
        from = to;
    }
    const outcome = {
        status: memory.readUInt16LE(start + 4),
        headers,
        body: EMPTY,
        delay: memory.readUInt32LE(start + 8),
        fault: memory[start + 6] === 1 ? 'reset' : undefined,
        events: NO_EVENTS,
        subscribe: null,
    };
    if (memory.readUInt32LE(at) === 0 && (memory[start + 7] & SUBSCRIBE) === 0) {
        // No events and no subscription (most answers): the body follows.
        at += 4;
    } else {
        at = decodeFeed(memory, start, at, outcome);
    }
    if (end > at) {
        outcome.body = copy(memory, at, end);
    }
    return outcome;
}

/** The feed's part of a `handleWire` answer at `at` (events, subscription) into `outcome`; returns where the body starts. */
function decodeFeed(memory, start, at, outcome) {
    const text = () => {
        const length = memory.readUInt32LE(at);
        at += 4;
        if (length === NO_TEXT) {
            return null;
        }
        at += length;
        return memory.toString('utf8', at - length, at);
    };
    const events = new Array(memory.readUInt32LE(at));
    at += 4;
    for (let i = 0; i < events.length; i++) {
        const type = text();
        const length = memory.readUInt32LE(at);
        at += 4 + length;
        events[i] = { type, bytes: copy(memory, at - length, at) };
    }
    outcome.events = events;
    if (memory[start + 7] & SUBSCRIBE) {
        const types = new Array(memory.readUInt32LE(at));
        at += 4;
        for (let i = 0; i < types.length; i++) {
            types[i] = text();
        }
        outcome.subscribe = { types };
    }
    return at;
}

/** An answer's body when it has none. */
const EMPTY = Buffer.alloc(0);

/** An answer's events when it has none (never changed). */
const NO_EVENTS = Object.freeze([]);

/** Bytes `from` to `to` of `memory`, copied into a Buffer of their own. */
function copy(memory, from, to) {
    const out = Buffer.allocUnsafe(to - from);
    memory.copy(out, 0, from, to);
    return out;
}

/** The flag of `MockEngine.handleWire`'s answer that says the request subscribes to the feed. */
const SUBSCRIBE = 1;

/** The length `handleWire` gives a text that is not there (an event of no type). */
const NO_TEXT = 0xffffffff;
