// The engine, compiled to wasm (web-engine/, `wasm-bindgen --target nodejs` into dist/node/ by
// scripts/node.sh), and what every Node entry point does with it: settings in, a namespace per
// X-Mock-Namespace, one request at a time through the engine, the delay waited by a timer.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { send } from './proxy.js';

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
        return this.front.maxBodyBytes;
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
     * Answers one request: `method`, `target` (path and query as on the wire), `headers` (names and
     * values alternating) and `body` (a Uint8Array; past `maxBodyBytes` the engine answers 413).
     * Resolves, after the delay the engine asks for, to `{status, headers, body}`.
     */
    async handle(method, target, headers, body) {
        if (!this.front) {
            throw new Error('mock-rest-api: this mock is closed');
        }
        const picked = this.front.namespaceOf(method, target, headers);
        if (picked.response) {
            return picked.response;
        }
        let engine = this.engines.get(picked.name);
        if (!engine) {
            if (this.engines.size >= this.maxNamespaces) {
                return this.front.tooManyNamespaces(method, target, headers, this.maxNamespaces);
            }
            engine = this.engine(picked.name);
        }
        let outcome = engine.handle(method, target, headers, body);
        if (outcome.forward) {
            // PROXY_TARGET: the engine asks for the target's answer, then says what to answer.
            const got = await send(outcome.forward);
            outcome = got.failure
                ? engine.proxyFailed(outcome.forward.id, got.failure, got.reason || '')
                : engine.proxied(outcome.forward.id, got.status, got.headers, got.body);
        }
        if (outcome.delay > 0) {
            await sleep(outcome.delay);
        }
        return outcome;
    }
}
