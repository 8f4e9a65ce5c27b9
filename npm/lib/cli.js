// `npx mock-rest-api`: the mock as an HTTP server in Node, and `npx mock-rest-api init DIR`, which
// copies the browser mock (service worker, registration helper, wasm) into a web app's folder.
import { constants as bufferConstants } from 'node:buffer';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Namespaces, SETTINGS, jsonServerHint } from './engine.js';
import { CONNECTION_LIMITS, baseUrl, close, createServer, listen } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageJson = JSON.parse(fs.readFileSync(path.join(here, '..', 'package.json'), 'utf8'));

/** What `init` copies, from dist/browser/ (the files scripts/browser.sh builds into web/dist/). */
export const BROWSER_FILES = ['mock-sw.js', 'mock-wire.js', 'mock.js', 'mock_rest_web.js', 'mock_rest_web_bg.wasm'];
const BROWSER_DIR = path.join(here, '..', 'dist', 'browser');

/** The host's own settings: name (environment variable), flag, whether it takes a value, help. */
const HOST_SETTINGS = [
    { name: 'PORT', flag: 'port', value: 'N', help: 'The port to listen on (0 picks a free one).', default: '5000' },
    { name: 'HOST', flag: 'host', value: 'ADDR', help: 'The address to bind (an IP address or `localhost`); wins over --run-local.' },
    { name: 'RUN_LOCAL', flag: 'run-local', help: 'Bind 127.0.0.1 only, instead of every interface.' },
    { name: 'FIXTURES', flag: 'fixtures', value: 'FILE', help: 'A read-only seed ({"type": [items]}); every namespace starts from it and /__admin/reset returns to it. Never written.' },
    { name: 'WATCH', flag: 'watch', help: 'Load the fixtures again when the file changes (whole or not at all), resetting every namespace.' },
    { name: 'RULES', flag: 'rules', value: 'FILE', help: 'Rules to start with: a JSON array, as GET /__admin/rules lists them; POST /__admin/reset restores them.' },
    { name: 'OPENAPI', flag: 'openapi', value: 'FILE', help: 'An OpenAPI document (JSON or YAML; 3.0, 3.1 or Swagger 2.0) whose paths the mock answers: validated, with state, with data generated from SEED.' },
    { name: 'DATA_FILE', flag: 'data', value: 'FILE', help: 'Durable data is native-only: here FILE is read once as the seed and never written.' },
    { name: 'MAX_CONNECTIONS', flag: 'max-connections', value: 'N', help: 'The most connections held at once; past it the oldest with no request in flight is closed to make room.', default: String(CONNECTION_LIMITS.maxConnections) },
    { name: 'IDLE_TIMEOUT_SECS', flag: 'idle-timeout-secs', value: 'N', help: 'Seconds a connection may read and write nothing before it is closed (1 to 86400); longer than DELAY_MS.', default: String(CONNECTION_LIMITS.idleTimeoutSecs) },
    { name: 'HEADER_TIMEOUT_SECS', flag: 'header-timeout-secs', value: 'N', help: 'Seconds a request head may take to arrive, and a kept-alive connection may wait for its next request, before the connection is closed (1 to 3600).', default: String(CONNECTION_LIMITS.headerTimeoutSecs) },
    { name: 'BODY_TIMEOUT_SECS', flag: 'body-timeout-secs', value: 'N', help: 'Seconds a request body may take to arrive before the answer is 408 (1 to 3600).', default: String(CONNECTION_LIMITS.bodyTimeoutSecs) },
];

/** json-server's one-letter flags, by the long flag each stands for. */
const SHORT_FLAGS = { p: 'port', H: 'host', d: 'delay-ms', i: 'id-field', w: 'watch' };
/** json-server's long flags that name one of ours. */
const ALIASES = { delay: 'delay-ms', id: 'id-field', ro: 'read-only' };
/** Engine settings that a flag alone turns on (`--json-server`), as on the native server. */
const BARE_FLAGS = new Set(['JSON_SERVER', 'READ_ONLY']);
/** Thrown for a bad command line, setting or file: printed as it is, exit status 2. */
class StartError extends Error {}

/** `false`, `0`, `no`, `off` and empty are off; any other value is on (as the native server reads RUN_LOCAL). */
function truthy(value) {
    return !['', 'false', '0', 'no', 'off'].includes(String(value).trim().toLowerCase());
}

function usage() {
    const lines = [
        `mock-rest-api ${packageJson.version}: a mock REST API. POST any JSON to /api/{resource}, then read, replace and delete it.`,
        '',
        'Usage: mock-rest-api [FILE] [OPTIONS]     (FILE means --fixtures FILE)',
        '       mock-rest-api init DIR             (copy the browser mock into DIR, such as public/)',
        '',
        'Options (each also read from the environment variable in brackets):',
    ];
    const row = (flag, name, help, def) => {
        lines.push(`  --${flag} [${name}]`);
        lines.push(`      ${help}${def ? ` [default: ${def}]` : ''}`);
    };
    for (const s of HOST_SETTINGS) row(s.value ? `${s.flag} ${s.value}` : s.flag, s.name, s.help, s.default);
    for (const s of SETTINGS) row(BARE_FLAGS.has(s.name) ? s.flag : `${s.flag} ${s.name}`, s.name, s.help, s.default);
    lines.push(
        "  json-server's flags work too: -p (--port), -H (--host), -d/--delay (--delay-ms), -i/--id (--id-field), -w (--watch), --ro (--read-only)",
        '  -h, --help      Print this help',
        '  -V, --version   Print the version',
    );
    return lines.join('\n');
}

/**
 * The settings from the arguments and the environment: `{host: {PORT, ...}, engine: {NAME: value}}`,
 * flags winning over the environment. Throws a StartError naming what it cannot take.
 */
export function parseArgs(args, env = process.env) {
    const host = {};
    const engine = {};
    const byFlag = new Map();
    for (const s of HOST_SETTINGS) byFlag.set(s.flag, { ...s, host: true });
    for (const s of SETTINGS) byFlag.set(s.flag, { name: s.name, flag: s.flag, value: s.name, host: false });
    for (const s of HOST_SETTINGS) {
        if (env[s.name] !== undefined && env[s.name] !== '') host[s.name] = s.value ? env[s.name] : truthy(env[s.name]);
    }
    for (const s of SETTINGS) {
        if (env[s.name] !== undefined) engine[s.name] = env[s.name];
    }
    let positional = null;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (arg === '-h' || arg === '--help') return { help: true };
        if (arg === '-V' || arg === '--version') return { version: true };
        const short = /^-([a-zA-Z])$/.exec(arg);
        if (short && SHORT_FLAGS[short[1]]) {
            args = [...args.slice(0, i), `--${SHORT_FLAGS[short[1]]}`, ...args.slice(i + 1)];
            i--;
            continue;
        }
        if (!arg.startsWith('--') || arg === '--') {
            if (arg === '--' || arg.startsWith('-')) throw new StartError(`unknown option \`${arg}\`; see --help`);
            if (positional !== null) throw new StartError(`one FILE at most: \`${positional}\` and \`${arg}\` were given`);
            positional = arg;
            continue;
        }
        const eq = arg.indexOf('=');
        const given = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
        const flag = ALIASES[given] ?? given;
        const setting = byFlag.get(flag);
        if (!setting) throw new StartError(`unknown option \`--${flag}\`; see --help`);
        let value;
        if (BARE_FLAGS.has(setting.name)) {
            // `--json-server` alone turns the preset on; `--json-server=0` off, as on the native server.
            value = eq < 0 ? '1' : arg.slice(eq + 1);
        } else if (!setting.value) {
            value = eq < 0 ? true : truthy(arg.slice(eq + 1));
        } else if (eq >= 0) {
            value = arg.slice(eq + 1);
        } else if (i + 1 < args.length) {
            value = args[++i];
        } else {
            throw new StartError(`--${flag} needs a value (${setting.value})`);
        }
        (setting.host ? host : engine)[setting.name] = value;
    }
    if (positional !== null) {
        if (host.FIXTURES !== undefined && args.some((a) => a === '--fixtures' || a.startsWith('--fixtures='))) {
            throw new StartError(`FILE (\`${positional}\`) means --fixtures FILE; give one or the other`);
        }
        host.FIXTURES = positional;
    }
    return { host, engine };
}

function checkedPort(text) {
    const value = String(text).trim();
    if (!/^[0-9]+$/.test(value) || Number(value) > 65535) {
        throw new StartError(`PORT=${value}: a port number from 0 to 65535`);
    }
    return Number(value);
}

/** The address to bind: HOST, else loopback with RUN_LOCAL or the json-server preset (as json-server), else every interface. */
function checkedHost(settings, jsonServer) {
    if (settings.HOST !== undefined) {
        const value = String(settings.HOST).trim();
        if (value.toLowerCase() === 'localhost') return '127.0.0.1';
        if (!net.isIP(value)) throw new StartError(`HOST=${value}: \`${value}\` is not an IP address (or \`localhost\`)`);
        return value;
    }
    return settings.RUN_LOCAL || jsonServer ? '127.0.0.1' : '0.0.0.0';
}

/** Writes `text` into `file` as json-server's preset does: a temporary file beside it, then a rename. */
function writeAtomically(file, text) {
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    try {
        fs.writeFileSync(temp, text);
        fs.renameSync(temp, file);
    } catch (err) {
        try {
            fs.rmSync(temp, { force: true });
        } catch {
            // Nothing was made.
        }
        throw err;
    }
}

/** A whole number from `min` to `max` for the setting `name`, else a StartError naming it. */
function checkedWhole(name, text, min, max) {
    const value = String(text).trim();
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new StartError(`${name}=${value}: a whole number from ${min} to ${max}`);
    }
    return Number(value);
}

/**
 * The text of a file the settings name, read within `namespaces`' bound on files (twice
 * MAX_STORE_BYTES, and at most the longest string node holds): a regular file's size is checked
 * before it is read, anything else (a device, a pipe) is read up to one byte past the bound.
 * Throws an Error saying why it was not read, in the words after the file's name.
 */
function readBounded(file, namespaces) {
    const limit = Math.min(namespaces.maxFileBytes, bufferConstants.MAX_STRING_LENGTH);
    const tooLarge = () =>
        new Error(
            limit < namespaces.maxFileBytes
                ? `larger than ${limit} bytes (the longest text node holds), so it was not read`
                : namespaces.fileTooLarge,
        );
    let fd;
    try {
        fd = fs.openSync(file, 'r');
    } catch (err) {
        throw new Error(`cannot be read (${err.code || err.message})`);
    }
    try {
        const stat = fs.fstatSync(fd);
        if (stat.isFile() && stat.size > limit) throw tooLarge();
        const chunks = [];
        let size = 0;
        for (;;) {
            const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - size));
            let read;
            try {
                read = fs.readSync(fd, chunk, 0, chunk.length, null);
            } catch (err) {
                throw new Error(`cannot be read (${err.code || err.message})`);
            }
            if (read === 0) break;
            chunks.push(chunk.subarray(0, read));
            size += read;
            if (size > limit) throw tooLarge();
        }
        return Buffer.concat(chunks, size).toString('utf8');
    } finally {
        fs.closeSync(fd);
    }
}

/** A seed file's text; a missing, unreadable or oversized file is a StartError naming it. */
function readSeed(file, what, namespaces) {
    try {
        return readBounded(file, namespaces);
    } catch (err) {
        throw new StartError(`${what}=${file}: ${err.message}`);
    }
}

/** The most bytes an OpenAPI document may have (the core's MAX_DOCUMENT_BYTES). */
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

/** The bound on the OpenAPI document, in readBounded's terms: a larger one is refused before it is read whole. */
const DOCUMENT_BOUND = {
    maxFileBytes: MAX_DOCUMENT_BYTES,
    fileTooLarge: `larger than ${MAX_DOCUMENT_BYTES} bytes, the most an OpenAPI document may be`,
};

/** The logger of each stream, so that all of a stream's lines keep their order. */
const loggers = new WeakMap();

/**
 * `log(level, line)` writes a line at once; `log.request(line)`, the one line per request, is kept
 * and written with the others of the same turn of the event loop in one write (a write per request
 * costs a server on one CPU a large share of its rate). A line written at once, and `log.flush()`,
 * write what is kept first.
 */
function logger(stream) {
    let log = loggers.get(stream);
    if (log) return log;
    let kept = '';
    let scheduled = false;
    let millisecond = -1;
    let stamp = '';
    // The start of a request's line (time stamp and level), made once a millisecond.
    let requestStamp = '';
    const tick = () => {
        // toISOString once a millisecond, not once a line.
        const now = Date.now();
        if (now !== millisecond) {
            millisecond = now;
            stamp = new Date(now).toISOString();
            requestStamp = `${stamp}  INFO mock-rest-api: `;
        }
    };
    const format = (level, line) => {
        tick();
        return `${stamp} ${level.padStart(5)} mock-rest-api: ${line}\n`;
    };
    const flush = () => {
        scheduled = false;
        if (kept !== '') {
            const text = kept;
            kept = '';
            stream.write(text);
        }
    };
    log = (level, line) => {
        flush();
        stream.write(format(level, line));
    };
    log.request = (line) => {
        // The same line as format('INFO', line).
        tick();
        kept += requestStamp + line + '\n';
        if (kept.length >= 64 * 1024) {
            flush();
        } else if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
        }
    };
    log.flush = flush;
    loggers.set(stream, log);
    return log;
}

/** `init DIR`: copies the browser mock into DIR (made if missing). */
export function init(dir, out = process.stdout) {
    if (!dir) throw new StartError('init needs a folder: mock-rest-api init public/');
    fs.mkdirSync(dir, { recursive: true });
    for (const file of BROWSER_FILES) {
        fs.copyFileSync(path.join(BROWSER_DIR, file), path.join(dir, file));
        out.write(`copied ${file} into ${dir}\n`);
    }
    out.write(
        `The mock's service worker is in ${dir}; serve that folder at your site's root and call\n` +
            `  import { startMock } from 'mock-rest-api/browser'; await startMock();\n` +
            `before the first fetch. Run this again after upgrading mock-rest-api.\n`,
    );
}

/** Starts the server; resolves to `{server, namespaces, stop}` once it listens. */
export async function start(args, env = process.env, stderr = process.stderr) {
    const log = logger(stderr);
    const parsed = parseArgs(args, env);
    if (parsed.help || parsed.version) return parsed;
    const { host: hostSettings, engine } = parsed;
    const port = checkedPort(hostSettings.PORT ?? '5000');
    const jsonServer = String(engine.JSON_SERVER ?? '').trim() === '1';
    const address = checkedHost(hostSettings, jsonServer);
    const limits = {
        maxConnections: checkedWhole('MAX_CONNECTIONS', hostSettings.MAX_CONNECTIONS ?? CONNECTION_LIMITS.maxConnections, 1, 1e9),
        idleTimeoutSecs: checkedWhole('IDLE_TIMEOUT_SECS', hostSettings.IDLE_TIMEOUT_SECS ?? CONNECTION_LIMITS.idleTimeoutSecs, 1, 86400),
        headerTimeoutSecs: checkedWhole('HEADER_TIMEOUT_SECS', hostSettings.HEADER_TIMEOUT_SECS ?? CONNECTION_LIMITS.headerTimeoutSecs, 1, 3600),
        bodyTimeoutSecs: checkedWhole('BODY_TIMEOUT_SECS', hostSettings.BODY_TIMEOUT_SECS ?? CONNECTION_LIMITS.bodyTimeoutSecs, 1, 3600),
    };
    const fixtures = hostSettings.FIXTURES;
    const data = hostSettings.DATA_FILE;
    if (hostSettings.WATCH && fixtures === undefined) {
        throw new StartError('WATCH (--watch) needs a fixtures file (--fixtures FILE, or FILE)');
    }
    // Beyond loopback the homepage warns when no token guards the data, as the native server's does.
    const loopback = address === '::1' || address.startsWith('127.');
    // The settings are checked, and the bound on files read, before any file is.
    let probe;
    try {
        probe = new Namespaces(engine, { publiclyReachable: !loopback });
    } catch (err) {
        throw new StartError(err.message);
    }
    const bound = { maxFileBytes: probe.maxFileBytes, fileTooLarge: probe.fileTooLarge };
    const delayMs = Number(probe.setting('DELAY_MS'));
    probe.free();
    if (limits.idleTimeoutSecs * 1000 <= delayMs) {
        throw new StartError(
            `IDLE_TIMEOUT_SECS (${limits.idleTimeoutSecs} s) must be longer than DELAY_MS (${delayMs} ms): a connection silent that long is closed before its answer`,
        );
    }
    let seed = null;
    let seedFrom = null;
    if (fixtures !== undefined) {
        seed = readSeed(fixtures, 'FIXTURES', bound);
        seedFrom = ['FIXTURES', fixtures];
    }
    if (data !== undefined) {
        // Durable data is the native server's: here the file is a seed, read once.
        if (fs.existsSync(data)) {
            seed = readSeed(data, 'DATA_FILE', bound);
            seedFrom = ['DATA_FILE', data];
        }
    }
    const rules = hostSettings.RULES !== undefined ? readSeed(hostSettings.RULES, 'RULES', bound) : null;
    const openapi = hostSettings.OPENAPI !== undefined ? readSeed(hostSettings.OPENAPI, 'OPENAPI', DOCUMENT_BOUND) : null;
    // JSON_SERVER=1 writes the default namespace's changes back into the fixtures file, as json-server does.
    const writesBack = jsonServer && fixtures !== undefined;
    const writeBack = writesBack
        ? (text) => {
              try {
                  writeAtomically(fixtures, text);
              } catch (err) {
                  log('ERROR', `JSON_SERVER: could not write ${fixtures} back: ${err.message}; the change is kept in memory`);
              }
          }
        : null;
    let namespaces;
    try {
        namespaces = new Namespaces(engine, { seed, rules, openapi, publiclyReachable: !loopback, writeBack });
    } catch (err) {
        if (err.part === 'fixtures') throw new StartError(`${seedFrom[0]}=${seedFrom[1]}: ${err.message}`);
        if (err.part === 'rules') throw new StartError(`RULES=${hostSettings.RULES}: ${err.message}`);
        if (err.part === 'openapi') throw new StartError(`OPENAPI=${hostSettings.OPENAPI}: ${err.message}`);
        throw new StartError(err.message);
    }
    if (rules !== null) {
        log('INFO', `rules: ${hostSettings.RULES}, read only: it will not be written`);
    }
    if (openapi !== null) {
        log('INFO', `openapi: ${hostSettings.OPENAPI}, its paths are served (validated, with state); read only`);
    }
    for (const warning of namespaces.warnings) log('WARN', warning);
    if (data !== undefined) {
        log(
            'WARN',
            `--data ${data}: durable data is native-only; this Node server ${fs.existsSync(data) ? 'reads it once as the seed and' : 'finds no such file and'} will not write it (changes live in memory until it stops)`,
        );
    }
    if (writesBack) {
        log('INFO', `JSON_SERVER: ${fixtures}: every change of the data is written back into it, as json-server does`);
    } else if (fixtures !== undefined) {
        log('INFO', `fixtures: ${fixtures}, read only: it will not be written${seedFrom[0] === 'DATA_FILE' ? ` (the --data file seeds the store instead)` : ''}`);
    }
    const hint = !jsonServer && seed !== null ? jsonServerHint(seed) : undefined;
    if (hint !== undefined) {
        log('INFO', hint);
    }

    const server = createServer(
        namespaces,
        (line) => log('ERROR', line),
        (method, target, status, ms) => log.request(method + ' ' + target + ' ' + status + ' ' + ms.toFixed(1) + ' ms'),
        limits,
    );
    let listening;
    try {
        listening = await listen(server, port, address);
    } catch (err) {
        throw new StartError(`cannot listen on ${address}:${port}: ${err.message}`);
    }
    const name = namespaces.setting('APP_NAME');
    const version = namespaces.setting('APP_VERSION');
    log('INFO', `${name} ${version} listening on ${baseUrl(listening)}`);

    let watcher = null;
    if (hostSettings.WATCH) {
        let last = seed;
        const reload = () => {
            let text;
            try {
                text = readBounded(fixtures, namespaces);
            } catch (err) {
                log('WARN', `--watch: ${fixtures} ${err.message.startsWith('cannot') ? '' : 'is '}${err.message}; the running store is kept`);
                return;
            }
            if (text === last) return;
            if (writesBack && text === namespaces.databaseFile()) {
                // The preset's own write of the data as it is: nothing to load.
                last = text;
                return;
            }
            try {
                namespaces.setSeed(text);
            } catch (err) {
                log('WARN', `--watch: ${fixtures} is not loaded: ${err.message}; the running store is kept`);
                return;
            }
            last = text;
            log('INFO', `--watch: loaded ${fixtures}; every namespace starts again from it`);
        };
        // Polling the file's status, which sees a file replaced by an editor as well as one rewritten.
        // The watcher's first status is taken in the background, so a change made before it would
        // be its baseline and never seen: one reload once it has surely been taken (the text is
        // compared with what was loaded) catches that change, and only then does the log say so.
        fs.watchFile(fixtures, { interval: 100 }, reload);
        const settled = setTimeout(() => {
            reload();
            log('INFO', `--watch: watching ${fixtures} for changes`);
        }, 250);
        watcher = () => {
            clearTimeout(settled);
            fs.unwatchFile(fixtures, reload);
        };
    }

    const stop = async () => {
        if (watcher) watcher();
        await close(server);
        namespaces.free();
        log.flush();
    };
    return { server, namespaces, stop, url: baseUrl(listening) };
}

/** The command: exits 2 on a bad start, 0 after SIGTERM or SIGINT. */
export async function main(args) {
    const log = logger(process.stderr);
    try {
        if (args[0] === 'init') {
            if (args.length > 2) throw new StartError('init takes one folder: mock-rest-api init public/');
            init(args[1]);
            return;
        }
        const started = await start(args);
        if (started.help) {
            process.stdout.write(`${usage()}\n`);
            return;
        }
        if (started.version) {
            process.stdout.write(`mock-rest-api ${packageJson.version}\n`);
            return;
        }
        // Request lines still kept when the process ends are written.
        process.on('exit', log.flush);
        let stopping = false;
        const shutdown = async () => {
            if (stopping) return;
            stopping = true;
            log('INFO', 'shutting down: finishing in-flight requests');
            await started.stop();
            log('INFO', 'stopped');
            process.exit(0);
        };
        process.on('SIGTERM', shutdown);
        process.on('SIGINT', shutdown);
    } catch (err) {
        if (err instanceof StartError) {
            process.stderr.write(`mock-rest-api: ${err.message}\n`);
            process.exit(2);
        }
        throw err;
    }
}
