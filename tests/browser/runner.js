// The conformance runner for the browser: replays a case of tests/cases/*.json with fetch() inside a
// page that the mock's service worker controls, and checks each answer as the Rust runner does
// (tests/src/lib.rs and tests/src/matching.rs; the format is in tests/README.md).
//
// The driver (driver.mjs) adds this script to the page and calls, for each case,
//   await conformance.run(fileText, index, { namespace, fixtures })
// where fileText is a case file as JSON text (parsed here, so numbers keep their text), index the
// case's place in it, namespace a fresh one for the case, fixtures the text of the files that
// `DATA_FILE`, `RULES` and `OPENAPI` settings name and origins the other origins the cases address (below); it gets back
// { status: 'pass' | 'fail' | 'skip', message, skipped: [notes] }. Each case starts the mock with
// `startMock` (mock.js, beside the page) in its own namespace, with the test settings and the case's,
// so it starts from an empty store (or its fixtures, as the seed); the namespaces its steps name
// with X-Mock-Namespace are made within it, as a server makes them (`default` is the case's own). The worker mocks every path (the
// prefix `/`), since the cases cover the homepage and unknown paths too.
//
// What a page does differently, each reported rather than hidden:
// - A step with a `Host` header is sent to that host (`http://HOST/path`), as HTTP means it; the
//   worker mocks those origins too (`origins`), and takes the host from the URL.
// - Other request headers that fetch() may not set (Origin, Access-Control-Request-*: the browser
//   decides, see forbidden()) are dropped, as fetch() would drop them. A check of a response header
//   that depends on one of them (DEPENDS_ON) is still made; when it fails, it is reported as
//   skipped, with the reason, instead of failed. A case with a skipped check counts as skipped.
// - A path that the browser's URL parser would rewrite cannot be sent as written: the case is skipped.
// - A case with PROXY_TARGET is skipped: the service worker does not proxy.
'use strict';

(() => {
    // ---- JSON that keeps what JSON.parse loses --------------------------------------------------
    // A value is {t: 'null'} | {t: 'bool', v} | {t: 'num', v: text} | {t: 'str', v} |
    // {t: 'arr', v: [values]} | {t: 'obj', v: Map(key -> value)}. Numbers keep their text and objects
    // their key order; a repeated key keeps its first place and takes its last value, as serde_json's
    // order-preserving map does.

    function parse(text) {
        let at = 0;
        const fail = (what) => {
            throw new Error(`${what} at offset ${at}`);
        };
        const space = () => {
            while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
        };
        const value = () => {
            space();
            const c = text[at];
            if (c === '{') {
                at++;
                const members = new Map();
                space();
                if (text[at] === '}') {
                    at++;
                    return { t: 'obj', v: members };
                }
                for (;;) {
                    space();
                    if (text[at] !== '"') fail('expected a key');
                    const key = string();
                    space();
                    if (text[at++] !== ':') fail('expected `:`');
                    members.set(key, value());
                    space();
                    const next = text[at++];
                    if (next === '}') return { t: 'obj', v: members };
                    if (next !== ',') fail('expected `,` or `}`');
                }
            }
            if (c === '[') {
                at++;
                const elements = [];
                space();
                if (text[at] === ']') {
                    at++;
                    return { t: 'arr', v: elements };
                }
                for (;;) {
                    elements.push(value());
                    space();
                    const next = text[at++];
                    if (next === ']') return { t: 'arr', v: elements };
                    if (next !== ',') fail('expected `,` or `]`');
                }
            }
            if (c === '"') return { t: 'str', v: string() };
            for (const [word, v] of [['true', { t: 'bool', v: true }], ['false', { t: 'bool', v: false }], ['null', { t: 'null' }]]) {
                if (text.startsWith(word, at)) {
                    at += word.length;
                    return v;
                }
            }
            const number = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
            number.lastIndex = at;
            const m = number.exec(text);
            if (!m || m[0] === '' || m[0] === '-') fail('expected a value');
            at += m[0].length;
            return { t: 'num', v: m[0] };
        };
        const string = () => {
            at++;
            let out = '';
            for (;;) {
                const c = text[at++];
                if (c === undefined) fail('unterminated string');
                if (c === '"') return out;
                if (c < ' ') fail('control character in a string');
                if (c !== '\\') {
                    out += c;
                    continue;
                }
                const e = text[at++];
                const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
                if (e in simple) {
                    out += simple[e];
                } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4))) {
                    out += String.fromCharCode(parseInt(text.slice(at, at + 4), 16));
                    at += 4;
                } else {
                    fail('bad escape');
                }
            }
        };
        const result = value();
        space();
        if (at !== text.length) fail('trailing characters');
        return result;
    }

    /** Compact JSON text, as serde_json writes it (numbers as their text). */
    function serialize(value) {
        switch (value.t) {
            case 'null':
                return 'null';
            case 'bool':
                return String(value.v);
            case 'num':
                return value.v;
            case 'str':
                return JSON.stringify(value.v);
            case 'arr':
                return `[${value.v.map(serialize).join(',')}]`;
            default:
                return `{${[...value.v].map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(',')}}`;
        }
    }

    /** serde_json's `Value` equality: objects as maps (order aside), numbers by their text. */
    function equal(a, b) {
        if (a.t !== b.t) return false;
        if (a.t === 'arr') return a.v.length === b.v.length && a.v.every((x, i) => equal(x, b.v[i]));
        if (a.t === 'obj') {
            return a.v.size === b.v.size && [...a.v].every(([k, x]) => b.v.has(k) && equal(x, b.v.get(k)));
        }
        return a.t === 'null' || a.v === b.v;
    }

    function short(value) {
        const text = serialize(value);
        return [...text].length > 300 ? `${[...text].slice(0, 300).join('')}…` : text;
    }

    const str = (v) => ({ t: 'str', v });

    // ---- captures and matching (tests/src/matching.rs) -----------------------------------------

    class Captures {
        constructor() {
            this.values = new Map();
        }

        fill(text) {
            let out = '';
            let rest = text;
            for (;;) {
                const start = rest.indexOf('{{');
                if (start < 0) break;
                if (start > 0 && rest[start - 1] === '\\') {
                    // `\{{` is a literal `{{` (as in a rule's templates).
                    out += rest.slice(0, start - 1) + '{{';
                    rest = rest.slice(start + 2);
                    continue;
                }
                const end = rest.indexOf('}}', start);
                if (end < 0) throw new Error(`unclosed {{ in \`${text}\``);
                const name = rest.slice(start + 2, end);
                if (!this.values.has(name)) throw new Error(`nothing was captured as \`${name}\``);
                const value = this.values.get(name);
                out += rest.slice(0, start) + (value.t === 'str' ? value.v : serialize(value));
                rest = rest.slice(end + 2);
            }
            return out + rest;
        }

        fillJson(value) {
            if (value.t === 'str') return str(this.fill(value.v));
            if (value.t === 'arr') return { t: 'arr', v: value.v.map((x) => this.fillJson(x)) };
            if (value.t === 'obj') return { t: 'obj', v: new Map([...value.v].map(([k, v]) => [k, this.fillJson(v)])) };
            return value;
        }
    }

    const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

    /** A Rust `regex` pattern as a JavaScript RegExp: a leading `(?flags)` becomes flags. */
    function regex(pattern) {
        let flags = 'u';
        const inline = /^\(\?([ims]+)\)/.exec(pattern);
        if (inline) {
            flags += inline[1];
            pattern = pattern.slice(inline[0].length);
        }
        return new RegExp(pattern, flags);
    }

    function matcher(value) {
        if (value.t !== 'obj' || value.v.size !== 1) return null;
        const [key, arg] = [...value.v][0];
        return key.startsWith('$') ? [key, arg] : null;
    }

    function matchJson(expected, actual, captures, at) {
        const op = matcher(expected);
        if (op) return apply(op[0], op[1], actual, captures, at);
        const mismatch = () => {
            throw new Error(`at ${at}: expected ${short(expected)}, got ${short(actual)}`);
        };
        if (expected.t === 'obj' && actual.t === 'obj') {
            const want = [...expected.v.keys()];
            const got = [...actual.v.keys()];
            if (want.length !== got.length || want.some((k, i) => k !== got[i])) {
                throw new Error(`at ${at}: expected keys ${JSON.stringify(want)} (in this order), got ${JSON.stringify(got)}`);
            }
            for (const [key, value] of expected.v) matchJson(value, actual.v.get(key), captures, `${at}.${key}`);
            return;
        }
        if (expected.t === 'arr' && actual.t === 'arr') {
            if (expected.v.length !== actual.v.length) {
                throw new Error(`at ${at}: expected ${expected.v.length} elements, got ${actual.v.length}: ${short(actual)}`);
            }
            expected.v.forEach((w, n) => matchJson(w, actual.v[n], captures, `${at}[${n}]`));
            return;
        }
        if (expected.t === 'str' && actual.t === 'str') {
            if (captures.fill(expected.v) !== actual.v) mismatch();
            return;
        }
        if (!equal(expected, actual)) mismatch();
    }

    function apply(op, arg, actual, captures, at) {
        const name = arg.t === 'str' ? arg.v : '';
        const fail = (what) => {
            throw new Error(`at ${at}: expected ${what}, got ${short(actual)}`);
        };
        switch (op) {
            case '$any':
                return;
            case '$capture':
                captures.values.set(name, actual);
                return;
            case '$uuid':
                if (actual.t !== 'str' || !UUID_V4.test(actual.v)) fail('a lowercase UUID v4');
                if (name) captures.values.set(name, actual);
                return;
            case '$same': {
                if (!captures.values.has(name)) throw new Error(`at ${at}: nothing was captured as \`${name}\``);
                const want = captures.values.get(name);
                if (!equal(want, actual)) fail(`the value captured as \`${name}\` (${short(want)})`);
                return;
            }
            case '$regex': {
                let re;
                try {
                    re = regex(name);
                } catch (err) {
                    throw new Error(`at ${at}: bad regex: ${err.message}`);
                }
                if (actual.t !== 'str' || !re.test(actual.v)) fail(`a string matching /${name}/`);
                return;
            }
            case '$type': {
                const kind = { null: 'null', bool: 'boolean', num: 'number', str: 'string', arr: 'array', obj: 'object' }[actual.t];
                if (kind !== name) fail(`a value of type ${name}`);
                return;
            }
            default:
                throw new Error(`at ${at}: unknown matcher ${op}`);
        }
    }

    function matchHeader(name, expected, actual, captures) {
        const at = `header ${name}`;
        if (expected.t === 'null') {
            if (actual !== null) throw new Error(`${at}: expected none, got \`${actual}\``);
            return;
        }
        if (actual === null) throw new Error(`${at}: missing, expected ${short(expected)}`);
        matchJson(expected, str(actual), captures, at);
    }

    // ---- what a page cannot send -------------------------------------------------------------

    /** Response headers whose value depends on a request header, by that request header. */
    const DEPENDS_ON = {
        origin: ['access-control-allow-origin', 'vary'],
        'access-control-request-method': ['access-control-allow-methods'],
        'access-control-request-headers': ['access-control-allow-headers'],
    };

    /** Whether fetch() drops this request header: the browser's own answer, from a Request it builds. */
    function forbidden(name) {
        const probe = new Request(location.href, { method: 'POST', headers: [[name, 'x']] });
        return !probe.headers.has(name);
    }

    // ---- one case -----------------------------------------------------------------------------

    function field(object, key) {
        return object.t === 'obj' ? object.v.get(key) : undefined;
    }

    function text(value, what) {
        if (!value || value.t !== 'str') throw new Error(`\`${what}\` must be a string`);
        return value.v;
    }

    function build(request, captures) {
        const method = text(field(request, 'method'), 'method');
        const target = captures.fill(text(field(request, 'path'), 'path'));
        const headers = [];
        const given = field(request, 'headers');
        if (given) {
            for (const [name, value] of given.v) {
                // An array sends the header once per value (fetch joins them with commas).
                const values = value && value.t === 'arr' ? value.v : [value];
                for (const one of values) headers.push([name, captures.fill(text(one, `header ${name}`))]);
            }
        }
        let body;
        const encoder = new TextEncoder();
        if (field(request, 'json')) {
            body = encoder.encode(serialize(captures.fillJson(field(request, 'json'))));
        } else if (field(request, 'body')) {
            body = encoder.encode(captures.fill(text(field(request, 'body'), 'body')));
        } else if (field(request, 'body_hex')) {
            const hex = text(field(request, 'body_hex'), 'body_hex');
            body = new Uint8Array(hex.length / 2);
            for (let i = 0; i < body.length; i++) body[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        } else if (field(request, 'body_padded')) {
            const padded = field(request, 'body_padded');
            const prefix = encoder.encode(text(field(padded, 'prefix'), 'prefix'));
            const suffix = encoder.encode(text(field(padded, 'suffix'), 'suffix'));
            const fill = encoder.encode(text(field(padded, 'fill'), 'fill'))[0];
            const total = Number(field(padded, 'total').v);
            const room = Math.max(0, total - prefix.length - suffix.length);
            body = new Uint8Array(prefix.length + room + suffix.length);
            body.set(prefix, 0);
            body.fill(fill, prefix.length, prefix.length + room);
            body.set(suffix, prefix.length + room);
        }
        return { method, target, headers, body };
    }

    async function send(request, streaming = false) {
        const started = performance.now();
        const response = await fetch(request.url, {
            method: request.method,
            headers: request.headers,
            body: request.body,
            cache: 'no-store',
        });
        if (streaming && (response.headers.get('content-type') || '').startsWith('text/event-stream')) {
            // The stream stays open: its events are read after the step's other requests.
            return { response, body: new Uint8Array(0), elapsed: performance.now() - started, reader: response.body.getReader() };
        }
        const body = new Uint8Array(await response.arrayBuffer());
        return { response, body, elapsed: performance.now() - started, reader: null };
    }

    /** Sends one step and checks its answer; a streaming step then runs its own steps and reads its events. */
    async function runStep(stepSpec, n, captures, skipped, prefix) {
        const request = build(field(stepSpec, 'request'), captures);
        const expect = field(stepSpec, 'expect');
        const host = request.headers.find(([name]) => name.toLowerCase() === 'host');
        request.headers = request.headers.filter((header) => header !== host);
        const url = new URL(request.target, host ? `http://${host[1]}` : location.origin);
        request.url = url.href;
        if (url.pathname + url.search !== request.target) {
            return {
                status: 'skip',
                message: `${prefix}${n}: the browser sends the path ${request.target} as ${url.pathname + url.search}`,
                skipped,
            };
        }
        const dropped = request.headers.filter(([name]) => forbidden(name)).map(([name]) => name.toLowerCase());
        const unexplained = dropped.filter((name) => !(name in DEPENDS_ON));
        if (unexplained.length > 0) {
            return { status: 'skip', message: `${prefix}${n}: fetch() cannot send ${unexplained.join(', ')}`, skipped };
        }
        request.headers = request.headers.filter(([name]) => !dropped.includes(name.toLowerCase()));
        const label = `${prefix}${n} (${request.method} ${request.target.slice(0, 120)})`;
        const stream = field(stepSpec, 'stream');
        const { response, body, elapsed, reader } = await send(request, Boolean(stream));
        const where = () => `\n  response: ${response.status} ${new TextDecoder().decode(body).slice(0, 400)}`;
        const minimum = field(expect, 'min_elapsed_ms');
        if (minimum && elapsed < Number(minimum.v)) {
            throw new Error(`${label}: answered after ${elapsed.toFixed(1)} ms, expected at least ${minimum.v} ms`);
        }
        const status = Number(field(expect, 'status').v);
        if (response.status !== status) throw new Error(`${label}: expected status ${status}, got ${response.status}${where()}`);
        const headers = field(expect, 'headers');
        for (const [name, want] of headers ? headers.v : []) {
            const lower = name.toLowerCase();
            try {
                matchHeader(lower, want, response.headers.get(lower), captures);
            } catch (err) {
                const cause = dropped.find((header) => DEPENDS_ON[header].includes(lower));
                if (!cause) throw new Error(`${label}: ${err.message}${where()}`);
                skipped.push(`${label}: ${lower} not checked: it depends on the request header ${cause}, which fetch() cannot send (${err.message})`);
            }
        }
        const bodyText = new TextDecoder().decode(body);
        const exact = field(expect, 'body');
        if (exact) {
            const want = captures.fill(exact.v);
            if (bodyText !== want) throw new Error(`${label}: expected body \`${want}\`, got \`${bodyText}\``);
        }
        for (const part of field(expect, 'body_contains') ? field(expect, 'body_contains').v : []) {
            const want = captures.fill(part.v);
            if (!bodyText.includes(want)) throw new Error(`${label}: expected the body to contain \`${want}\`${where()}`);
        }
        for (const part of field(expect, 'body_excludes') ? field(expect, 'body_excludes').v : []) {
            const unwanted = captures.fill(part.v);
            if (bodyText.includes(unwanted)) throw new Error(`${label}: expected the body not to contain \`${unwanted}\`${where()}`);
        }
        const pattern = field(expect, 'json');
        const pluck = field(expect, 'pluck');
        if (pattern || pluck) {
            let actual;
            try {
                actual = parse(bodyText);
            } catch (err) {
                throw new Error(`${label}: the body is not JSON (${err.message}): \`${bodyText.slice(0, 400)}\``);
            }
            try {
                if (pattern) matchJson(pattern, actual, captures, '$');
                if (pluck) {
                    const [name, values] = [...pluck.v][0];
                    if (actual.t !== 'arr') throw new Error(`expected an array to pluck \`${name}\` from`);
                    const plucked = actual.v.map((element) => field(element, name) || { t: 'null' });
                    matchJson(values, { t: 'arr', v: plucked }, captures, name);
                }
            } catch (err) {
                throw new Error(`${label}: ${err.message}${where()}`);
            }
        }
            if (stream) {
            const skip = await runStream(stream, reader, captures, skipped, label);
            if (skip) return skip;
        }
        return undefined;
    }

    /** A streaming step: its `during` steps, then its events in order within `within_ms`. */
    async function runStream(stream, reader, captures, skipped, label) {
        const during = field(stream, 'during');
        for (const [n, stepSpec] of (during ? during.v : []).entries()) {
            const skip = await runStep(stepSpec, n, captures, skipped, `${label} during `);
            if (skip) {
                await reader.cancel();
                return skip;
            }
        }
        const within = Number(field(stream, 'within_ms').v);
        const deadline = performance.now() + within;
        const events = new SseReader(reader);
        try {
            for (const [n, want] of field(stream, 'events').v.entries()) {
                const got = await events.next(deadline);
                if (!got) throw new Error(`${label}: event ${n} (\`${field(want, 'event').v}\`) did not arrive within ${within} ms`);
                const context = (message) => `${label}: event ${n}: ${message}; got ${JSON.stringify(got)}`;
                if (got.event !== field(want, 'event').v) throw new Error(context(`expected \`event: ${field(want, 'event').v}\``));
                try {
                    if (field(want, 'id')) matchJson(field(want, 'id'), { t: 'str', v: got.id }, captures, 'id');
                    if (field(want, 'data')) matchJson(field(want, 'data'), parse(got.data), captures, 'data');
                } catch (err) {
                    throw new Error(context(err.message));
                }
            }
        } finally {
            await reader.cancel();
        }
        return undefined;
    }

    /** Server-Sent Events from a body reader, as a client parses them (comment lines skipped). */
    class SseReader {
        constructor(reader) {
            this.reader = reader;
            this.text = '';
            this.ready = [];
            this.current = { id: '', event: '', data: [] };
            this.decoder = new TextDecoder();
        }

        async next(deadline) {
            while (this.ready.length === 0) {
                const left = deadline - performance.now();
                if (left <= 0) return null;
                let timer;
                const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), left)));
                const chunk = await Promise.race([this.reader.read(), timeout]);
                clearTimeout(timer);
                if (chunk.timeout || chunk.done) return null;
                this.feed(this.decoder.decode(chunk.value, { stream: true }));
            }
            return this.ready.shift();
        }

        feed(text) {
            this.text += text;
            let end;
            while ((end = this.text.indexOf('\n')) >= 0) {
                const line = this.text.slice(0, end).replace(/\r$/, '');
                this.text = this.text.slice(end + 1);
                const current = this.current;
                if (line === '') {
                    if (current.data.length > 0 || current.event) {
                        this.ready.push({ id: current.id, event: current.event || 'message', data: current.data.join('\n') });
                    }
                    this.current = { id: current.id, event: '', data: [] };
                    continue;
                }
                if (line.startsWith(':')) continue;
                const colon = line.indexOf(':');
                const name = colon < 0 ? line : line.slice(0, colon);
                let value = colon < 0 ? '' : line.slice(colon + 1);
                if (value.startsWith(' ')) value = value.slice(1);
                if (name === 'id') current.id = value;
                else if (name === 'event') current.event = value;
                else if (name === 'data') current.data.push(value);
            }
        }
    }

    /** Replays one case of a case file (its JSON text) in a namespace of its own; never throws. */
    async function run(fileText, index, { namespace, fixtures = {}, origins = [] }) {
        const skipped = [];
        let step = -1;
        try {
            const spec = parse(fileText).v[index];
            const { startMock } = await import(new URL('mock.js', location.href).href);
            // The settings every host runs with under test, then the case's.
            const options = { namespace, prefixes: ['/'], origins, appName: 'conformance', appVersion: '1.2.3' };
            const env = field(spec, 'env');
            for (const [name, value] of env ? env.v : []) {
                if (name === 'DATA_FILE') {
                    if (!(value.v in fixtures)) return { status: 'skip', message: `fixtures ${value.v} were not given`, skipped };
                    options.seed = fixtures[value.v];
                } else if (name === 'PROXY_TARGET') {
                    // The service worker does not proxy (docs/browser.md): it answers 502 saying so.
                    return { status: 'skip', message: 'the browser does not proxy (PROXY_TARGET)', skipped };
                } else if (name === 'RULES') {
                    if (!(value.v in fixtures)) return { status: 'skip', message: `rules ${value.v} were not given`, skipped };
                    options.rules = fixtures[value.v];
                } else if (name === 'OPENAPI') {
                    if (!(value.v in fixtures)) return { status: 'skip', message: `the document ${value.v} was not given`, skipped };
                    options.openapi = fixtures[value.v];
                } else {
                    // The engine takes its settings by their contract names, and refuses unknown ones.
                    options[name] = value.v;
                }
            }
            await startMock(options);
            const captures = new Captures();
            for (const [n, stepSpec] of field(spec, 'steps').v.entries()) {
                step = n;
                const skip = await runStep(stepSpec, n, captures, skipped, 'step ');
                if (skip) return skip;
            }
        } catch (err) {
            return { status: 'fail', message: step < 0 ? `setup: ${err.message}` : err.message, skipped };
        }
        return skipped.length > 0 ? { status: 'skip', message: 'every other check passed', skipped } : { status: 'pass', skipped };
    }

    window.conformance = { run, parse, serialize, matchJson, Captures };
})();
