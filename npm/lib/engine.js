// The engine, compiled to wasm (web-engine/, `wasm-bindgen --target nodejs` into dist/node/ by
// scripts/node.sh), and what every Node entry point does with it: settings in, a namespace per
// X-Mock-Namespace, one request at a time through the engine, the delay waited by a timer.
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const wasm = require('../dist/node/mock_rest_web.js');

/** The engine's settings, from the core's table: `{name, flag, jsName, default, help, secret}`. */
export const SETTINGS = Object.freeze(wasm.settings().map((setting) => Object.freeze(setting)));

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

    /** Starts every namespace again from the seed. */
    clear() {
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
     * answers, and `fault: 'reset'` asks it to drop the connection instead.
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
        // One call each way (see handleWire in web-engine/src/bindings.rs); no header holds `\n`.
        const head = headers.length > 0 ? `${method}\n${target}\n${headers.join('\n')}` : `${method}\n${target}`;
        const most = head.length * 3 + body.length;
        // A request of up to 64 KiB is written into the one buffer kept for them; a larger one gets a
        // buffer of its own, dropped after it.
        const into = most <= scratch.length ? scratch : Buffer.allocUnsafe(most);
        const length = into.write(head, 0, 'utf8');
        into.set(body, length);
        return decodeWire(engine.handleWire(into.subarray(0, length + body.length), length));
    }

    /**
     * Answers one request: `method`, `target` (path and query as on the wire), `headers` (names and
     * values alternating) and `body` (a Uint8Array; past `maxBodyBytes` the engine answers 413).
     * Resolves, after the delay the engine asks for, to `{status, headers, body}`, with `headers`
     * as `[name, value]` pairs.
     */
    async handle(method, target, headers, body) {
        const outcome = this.answer(method, target, headers, body);
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
function flat(response) {
    return { status: response.status, headers: response.headers.flat(), body: response.body, delay: 0, fault: undefined };
}

/** Where requests of up to 64 KiB are written for `MockEngine.handleWire`: one buffer, kept. */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** The answer of `MockEngine.handleWire`, a Uint8Array, as `answer` returns it. */
function decodeWire(bytes) {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const count = buffer.readUInt32LE(8);
    const headers = new Array(count * 2);
    let at = 12;
    for (let i = 0; i < headers.length; i++) {
        const length = buffer.readUInt32LE(at);
        at += 4;
        headers[i] = buffer.toString('utf8', at, at + length);
        at += length;
    }
    return {
        status: buffer.readUInt16LE(0),
        headers,
        body: bytes.subarray(at),
        delay: buffer.readUInt32LE(4),
        fault: bytes[2] === 1 ? 'reset' : undefined,
    };
}
