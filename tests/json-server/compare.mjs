// Runs json-server and this mock side by side on the same db.json, sends both the same requests in
// the same order, and compares their answers: the status, the body as JSON values (key order and
// whitespace aside), the Location header's path, and, where json-server sends them, X-Total-Count and
// Link (each rel's path and query, parameters in any order). Three runs, each made in both modes below:
//   - json-server 0.17 on its README's db.json (tests/cases/fixtures/json-server-db.json);
//   - json-server 0.17 on a larger db.json (db-0.17.json): pages, sorts, slices, operators, relations;
//   - json-server 1.0 (beta) on the same data with string ids (db-1.0.json): its dialect.
// The mock runs both ways the migration guide (docs/json-server.md) gives, with the file as its
// positional argument: with the preset (`--json-server`) and with the three settings alone. A request
// whose answers differ must be listed with the phrase of the guide that names the difference, and the
// guide must hold that phrase; a listed request whose answers agree fails too, so the list stays true. Without the preset the mock must not write its file; with it, the file must hold
// the data as the mock's `GET /db` answers it at the end.
//
//   node tests/json-server/compare.mjs MOCK_BINARY
//
// json-server 0.17.4 and 1.0.0-beta.15 come from the repository's package-lock.json (node_modules/
// json-server and node_modules/json-server-1). Every server binds a free port of 127.0.0.1 and is
// stopped by its PID: the mock binds port 0 and logs the port it got; json-server cannot say which
// port it got, so it is given one found free here, and started again on another when something took
// that port before it bound it.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { same, spawnMock, stop } from './mock.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const [mockBin] = process.argv.slice(2);
if (!mockBin) {
    console.error('usage: node tests/json-server/compare.mjs MOCK_BINARY');
    process.exit(2);
}
const guide = readFileSync(join(root, 'docs', 'json-server.md'), 'utf8');

/** The guide's two ways to start the mock, less the file: the preset, and the three settings alone. */
const MODES = [
    { name: 'with --json-server', flags: ['--json-server'], preset: true },
    { name: 'with the three settings', flags: ['--id-field', 'id', '--api-prefix', '/', '--create-status', '201'], preset: false },
];

// The guide's phrases for the differences that remain.
const ERRORS = 'Errors are `{}` (`404`)';
const DUPLICATE = 'A POST of an id that exists is `500`';
const UNKNOWN = 'An unknown `_` parameter (`?_foo=1`) is ignored.';
const NESTED = '`POST /posts/1/comments` stores `"postId": "1"`';
const CASCADE = '`DELETE /posts/1` answers `{}` and also deletes the comments';
const SINGULAR_POST = '`POST /profile` replaces the singular resource (`201`)';
const SINGULAR_DELETE = '`DELETE /profile` is `404`';
const EMBED_PARENT = '`_embed=post` (a singular name) adds the parent';
const PAGE_ALONE = '`_page` without `_per_page` answers the envelope';
const LINK_LIMIT = 'Page links leave out `_limit` when the request did';
const NO_PARENT = 'under a parent that does not exist, is `200` `[]`';
const IN_NUMBERS = '`field:in=1,2` turns its values into numbers';
const DELETE_ALL = '`DELETE /posts` is `404`.';
const NO_FIELD = 'A filter on a field that no item has (`title_startsWith=json`) finds nothing.';
/** The differences the preset takes away: with `--json-server`, these requests must agree. */
const PRESET_FIXES = new Set([ERRORS, UNKNOWN, CASCADE, SINGULAR_POST, SINGULAR_DELETE, DELETE_ALL, NESTED]);

// [method, path, body, the guide's phrase for a difference (or none), the phrase for a difference
// with the preset only]; each run is made once per mode, and with the preset the differences it takes
// away (PRESET_FIXES) must be gone.
const RUNS = [
    {
        name: 'json-server 0.17, its README db.json',
        bin: 'node_modules/json-server/lib/cli/bin.js',
        db: join(root, 'tests', 'cases', 'fixtures', 'json-server-db.json'),
        requests: [
            ['GET', '/posts'],
            ['GET', '/posts/1'],
            ['GET', '/comments'],
            ['GET', '/profile'],
            ['GET', '/posts/1/comments'],
            ['GET', '/posts?_embed=comments'],
            ['GET', '/posts/1?_embed=comments'],
            ['GET', '/comments?_expand=post'],
            ['GET', '/comments/1?_expand=post'],
            ['GET', '/posts?title=json-server'],
            ['GET', '/posts?q=typicode'],
            ['GET', '/posts?title_like=SERV'],
            ['GET', '/comments?postId=1'],
            ['POST', '/posts', { title: 'second', author: 'me' }],
            ['POST', '/posts', { id: 10, title: 'tenth' }],
            ['POST', '/posts', { title: 'eleventh' }],
            ['POST', '/posts/10/comments', { body: 'nested' }, NESTED],
            ['GET', '/posts?_sort=title&_order=desc'],
            ['GET', '/posts?id_gte=10'],
            ['GET', '/posts?_page=2&_limit=2'],
            ['GET', '/posts?_start=1&_end=3'],
            ['PUT', '/posts/2', { id: 99, title: 'replaced' }],
            ['PATCH', '/posts/2', { author: 'patched' }],
            ['GET', '/posts/2'],
            ['PUT', '/profile', { name: 'someone' }],
            ['PATCH', '/profile', { age: 3 }],
            ['GET', '/profile'],
            ['GET', '/posts/99', undefined, ERRORS],
            ['PUT', '/posts/99', { title: 'x' }, ERRORS],
            ['POST', '/posts', { id: 2, title: 'again' }, DUPLICATE],
            ['GET', '/posts?_foo=1', undefined, UNKNOWN],
            ['POST', '/profile', { name: 'posted' }, SINGULAR_POST],
            ['DELETE', '/profile', undefined, SINGULAR_DELETE],
            ['POST', '/fresh', { a: 1 }, 'A POST to a type that is not in the file is `404`.'],
            ['DELETE', '/posts/10', undefined, CASCADE],
            ['GET', '/comments', undefined, CASCADE],
            ['GET', '/posts'],
            ['DELETE', '/posts', undefined, DELETE_ALL],
        ],
    },
    {
        name: 'json-server 0.17, 25 posts and 12 comments',
        bin: 'node_modules/json-server/lib/cli/bin.js',
        db: join(here, 'db-0.17.json'),
        requests: [
            ['GET', '/posts'],
            ['GET', '/posts?title=json-server&author=typicode'],
            ['GET', '/posts?id=1&id=2'],
            ['GET', '/posts?meta.category=news&author=jane'],
            ['GET', '/posts?_page=2', undefined, LINK_LIMIT],
            ['GET', '/posts?_page=2&_limit=7'],
            ['GET', '/posts?_page=4&_limit=7'],
            ['GET', '/posts?_page=1&_limit=7&author=ada'],
            ['GET', '/posts?_sort=views&_order=desc'],
            ['GET', '/posts?_sort=author,views&_order=desc,asc'],
            ['GET', '/posts?_start=20&_end=30'],
            ['GET', '/posts?_start=5&_limit=3'],
            ['GET', '/posts?views_gte=100&views_lte=200'],
            ['GET', '/posts?id_ne=1&author=typicode'],
            ['GET', '/posts?title_like=^post 1'],
            ['GET', '/posts?title_like=POST 2$'],
            ['GET', '/posts?q=typicode'],
            ['GET', '/posts?q=tools&_limit=3'],
            ['GET', '/posts?_embed=comments&_limit=3'],
            ['GET', '/comments?_expand=post&_limit=3'],
            ['GET', '/comments/12?_expand=post'],
            ['GET', '/posts/1/comments?_sort=id&_order=desc'],
            ['GET', '/posts/404/comments', undefined, NO_PARENT],
            ['POST', '/posts', { title: 'new', author: 'ada', views: 1 }],
            ['GET', '/posts/26'],
            ['PATCH', '/posts/3', { views: 7 }],
            ['GET', '/posts?_sort=id&_order=desc&_limit=3'],
        ],
    },
    {
        name: 'json-server 1.0, the same data with string ids',
        bin: 'node_modules/json-server-1/lib/bin.js',
        db: join(here, 'db-1.0.json'),
        requests: [
            ['GET', '/posts/1'],
            ['GET', '/profile'],
            ['GET', '/posts?views:gt=400'],
            ['GET', '/posts?views:gte=111&views:lte=148'],
            ['GET', '/posts?views:lt=60'],
            ['GET', '/posts?author:ne=jane&meta.category:eq=news'],
            ['GET', '/posts?id:in=1,2,3', undefined, IN_NUMBERS],
            ['GET', '/posts?views:in=74,111,999'],
            ['GET', '/posts?title:contains=POST 1'],
            ['GET', '/posts?title:startsWith=json'],
            ['GET', '/posts?title:endsWith=5'],
            ['GET', '/posts?_sort=-views&author=ada'],
            ['GET', '/posts?_sort=author,-views&views:lt=150'],
            ['GET', '/posts?_page=2&_per_page=10'],
            ['GET', '/posts?_page=3&_per_page=10&_sort=-views'],
            ['GET', '/posts?_page=1&_per_page=5&author=jane'],
            ['GET', '/posts?_page=2', undefined, PAGE_ALONE],
            ['GET', '/posts/1?_embed=comments'],
            ['GET', '/posts?_embed=comments&author=typicode&views:lt=120'],
            ['GET', '/comments?_embed=post&id:in=1,2', undefined, EMBED_PARENT],
            // 1.0's underscore operators and its `_where`.
            ['GET', '/posts?views_gt=400'],
            ['GET', '/posts?views_lt=60&author_ne=jane'],
            ['GET', '/posts?title_contains=POST 1&_sort=-views'],
            ['GET', '/posts?title_startsWith=json', undefined, undefined, NO_FIELD],
            ['GET', '/posts?views_in=74,111,999'],
            ['GET', '/posts?author_eq=ada&_page=1&_per_page=3'],
            ['GET', `/posts?_where=${encodeURIComponent(JSON.stringify({ views: { gte: 111, lte: 148 } }))}`],
            ['GET', `/posts?author=jane&_where=${encodeURIComponent(JSON.stringify({ author: { eq: 'ada' }, views: { lt: 150 } }))}`],
            ['GET', `/posts?_where=${encodeURIComponent(JSON.stringify({ meta: { category: { eq: 'news' } } }))}`],
        ],
    },
];

function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

async function waitFor(url, child, what) {
    for (let tries = 0; tries < 300; tries++) {
        if (child.exitCode !== null) break;
        try {
            await fetch(url);
            return;
        } catch {
            await new Promise((done) => setTimeout(done, 50));
        }
    }
    throw new Error(`${what} did not answer at ${url}`);
}

/** Spawns a server with its stdout and stderr piped; `said()` is the last 8 KiB of what it wrote. */
function start(command, args, env) {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    const keep = (chunk) => {
        said = (said + chunk).slice(-8192);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.said = () => said;
    child.closed = new Promise((done) => child.on('close', done));
    return child;
}

/** json-server on the file, on a port found free here (5 tries: another when that port was taken before it
 * bound it); resolves to [child, base URL] once it answers. Its own output (a stack trace for each of its
 * 500s) is kept for a failure to start, not shown: this script prints what differs instead. */
async function startJsonServer(bin, file, what, children) {
    for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        const child = start(process.execPath, [join(root, bin), '--port', String(port), '--host', '127.0.0.1', file], {});
        children.push(child);
        try {
            await waitFor(`${base}/posts`, child, what);
            return [child, base];
        } catch (error) {
            await stop(child);
            if (attempt < 5 && /EADDRINUSE|Cannot bind to the port/.test(child.said())) {
                console.log(`(${what}: port ${port} was taken before it bound it; starting it on another)`);
                continue;
            }
            throw new Error(`${error.message}; it said:\n${child.said()}`);
        }
    }
}

/** The mock on port 0; resolves to [child, base URL] once it answers `/health`. */
async function startMock(file, flags, children) {
    const child = spawnMock(mockBin, [...flags, file]);
    children.push(child);
    const base = await child.listening;
    await waitFor(`${base}/health`, child, 'mock-rest-api');
    return [child, base];
}

async function send(base, [method, path, body]) {
    const init = { method, headers: {} };
    if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers['content-type'] = 'application/json';
    }
    const response = await fetch(base + path, init);
    const text = await response.text();
    let json;
    try {
        json = text === '' ? null : JSON.parse(text);
    } catch {
        json = `(not JSON) ${text.slice(0, 60)}`;
    }
    const location = response.headers.get('location');
    return {
        status: response.status,
        json,
        location: location && new URL(location, base).pathname,
        total: response.headers.get('x-total-count'),
        link: links(response.headers.get('link')),
    };
}

/** A Link header as {rel: "path?query"}, the query's parameters sorted: origins and order aside. */
function links(header) {
    if (!header) return null;
    const out = {};
    for (const part of header.split(',')) {
        const found = part.match(/<([^>]*)>\s*;\s*rel="?([a-z]+)"?/);
        if (!found) continue;
        const url = new URL(found[1], 'http://any');
        const query = [...url.searchParams.entries()].sort().map(([k, v]) => `${k}=${v}`).join('&');
        out[found[2]] = `${url.pathname}?${query}`;
    }
    return out;
}

function show(answer) {
    const extra = [answer.location, answer.total && `total ${answer.total}`, answer.link && JSON.stringify(answer.link)];
    return `${answer.status} ${JSON.stringify(answer.json)} ${extra.filter(Boolean).join(' ')}`;
}

async function run({ name: runName, bin, db, requests }, mode, dir) {
    let failures = 0;
    const name = `${runName}, ${mode.name}`;
    const slug = name.replace(/[^a-z0-9]+/gi, '-');
    // Each server gets its own copy: json-server writes its file back, and so does the mock with the
    // preset; without it, the mock must not.
    const theirsFile = join(dir, `${slug}-theirs.json`);
    const oursFile = join(dir, `${slug}-ours.json`);
    copyFileSync(db, theirsFile);
    copyFileSync(db, oursFile);
    const before = readFileSync(oursFile);
    const children = [];
    try {
        const [[, theirs], [, ours]] = await Promise.all([
            startJsonServer(bin, theirsFile, name, children),
            startMock(oursFile, mode.flags, children),
        ]);
        console.log(`== ${name}`);
        for (const request of requests) {
            // The fifth element: a difference with the preset only.
            const [method, path, , phrase, presetPhrase] = request;
            const listed = mode.preset ? (presetPhrase ?? (PRESET_FIXES.has(phrase) ? undefined : phrase)) : phrase;
            const [a, b] = [await send(theirs, request), await send(ours, request)];
            // X-Total-Count and Link count where json-server sends them: the mock sends them on every
            // list (the guide says so), which a client of json-server never misses.
            const agree = a.status === b.status && same(a.json, b.json) && a.location === b.location &&
                (a.total === null || a.total === b.total) && (a.link === null || same(a.link, b.link));
            const shown = `${method} ${path}:\n    json-server ${show(a)}\n    mock        ${show(b)}`;
            if (listed && !guide.includes(listed)) {
                failures++;
                console.log(`FAIL ${method} ${path}: docs/json-server.md does not say "${listed}"`);
            } else if (agree && listed) {
                failures++;
                console.log(`FAIL (listed as a difference, but the answers agree) ${shown}`);
            } else if (!agree && !listed) {
                failures++;
                console.log(`FAIL (a difference the guide does not list) ${shown}`);
            } else {
                console.log(`ok   ${method} ${path}${listed ? ` (differs as the guide says: "${listed}")` : ''}`);
            }
        }
        if (mode.preset) {
            // Every change is in the file before its answer: the file is the data as GET /db has it.
            const db = await send(ours, ['GET', '/db']);
            const file = JSON.parse(readFileSync(oursFile, 'utf8'));
            if (!same(file, db.json)) {
                failures++;
                console.log(`FAIL the mock's file is not its data: ${JSON.stringify(file)} against GET /db ${JSON.stringify(db.json)}`);
            }
        }
    } finally {
        await Promise.all(children.map(stop));
    }
    if (!mode.preset && !readFileSync(oursFile).equals(before)) {
        failures++;
        console.log(`FAIL mock-rest-api wrote to its file ${oursFile}`);
    }
    return failures;
}

const dir = mkdtempSync(join(tmpdir(), 'json-server-compare-'));
let failures = 0;
let count = 0;
try {
    for (const mode of MODES) {
        for (const spec of RUNS) {
            failures += await run(spec, mode, dir);
            count += spec.requests.length;
        }
    }
} finally {
    rmSync(dir, { recursive: true, force: true });
}
console.log(failures === 0 ? `json-server comparison: all ${count} requests as the guide says` : `json-server comparison: ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
