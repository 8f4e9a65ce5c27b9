// createMock against MSW 2 (issue #30), in one Node process: the same 1,000 people and the same
// requests in three setups.
//
//   node bench/msw.mjs [--rounds N] [--gets N] [--lists N] [--posts N] [--spawns N] [--write]
//
// The setups:
//   createMock         `createMock({ seed })` from npm/index.js, requests through `mock.fetch`;
//   MSW + Map          `setupServer` from `msw/node` with three `http` handlers (GET by id, the list,
//                      POST) over a plain `Map` keyed by id, requests through the global `fetch`
//                      while `server.listen()` is on;
//   MSW + @mswjs/data  the same handlers over an @mswjs/data `factory` model with a `primaryKey`.
// The workloads: GET by id (pseudo-random existing ids, the same sequence in every setup), the list
// of the first 20 (`?_limit=20`: createMock pages, the MSW handlers take the first 20 of their
// store), and POST of a new person. Every answer's body is read with `await res.json()` and checked.
// After a warm-up round, each of --rounds rounds (default 5) runs every setup in turn (the order
// rotates from round to round) for --gets GETs (2,000), --lists lists (200) and --posts POSTs
// (2,000), then puts that setup's store back to the 1,000 people (untimed); a round's figure for a
// workload is its time over its count, and the report gives the median of the rounds and their
// range. Then the first request in a process: a fresh `node` per setup and spawn (--spawns, default
// 5, interleaved) times from just before the store and the mock are made to the first GET's body
// read, and apart from that the imports before it; the report gives the medians.
//
// Prints a Markdown section; with --write it also keeps it, with its figures, as a record in
// bench/history/, from which bench/page.py draws docs/benchmarks.md. Needs npm/dist/ (`bash scripts/node.sh build`) and msw and @mswjs/data
// from the root package-lock.json (`npm ci`). Exits with status 1 when an answer is not what the
// request asks for, after closing every mock and server.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ORIGIN = 'http://api.test';
const PEOPLE = 1000;
const HEADING = '## createMock against MSW';

// The test data: 1,000 people with their ids given (p0000000 upwards, as the other benchmarks').
const id = (i) => `p${String(i).padStart(7, '0')}`;
function seedPeople() {
    const people = [];
    for (let i = 0; i < PEOPLE; i++) {
        people.push({ first_name: 'Darth', last_name: `Vader${i % 100}`, age: 20 + (i % 50), _id: id(i) });
    }
    return people;
}

// The `_limit` of a list request, or every item when it has none.
function limitOf(request) {
    const limit = Number(new URL(request.url).searchParams.get('_limit'));
    return Number.isSafeInteger(limit) && limit > 0 ? limit : Infinity;
}

// Each setup loads only the modules it needs (so a fresh process times its own imports alone) and
// then makes its store and mock. start() and stop() switch the interception on and off: MSW's
// `listen()` patches the global `fetch`, which only one server may do at a time, and createMock is
// measured with the global `fetch` left alone. fetch() sends one request; reset() brings the store
// back to the seeded people (between turns, untimed); dispose() frees the mock.
const SETUPS = {
    createMock: {
        label: 'createMock',
        async load() {
            return import('../npm/index.js');
        },
        make({ createMock }, people) {
            const mock = createMock({ seed: { people } });
            return {
                start() {},
                stop() {},
                fetch: (url, init) => mock.fetch(url, init),
                reset() {
                    mock.reset();
                },
                dispose: () => mock.close(),
            };
        },
    },
    map: {
        label: 'MSW + Map',
        load: loadMsw,
        make({ http, HttpResponse, setupServer }, people) {
            const store = new Map();
            const fill = () => {
                store.clear();
                for (const person of people) store.set(person._id, { ...person });
            };
            fill();
            return mswSetup(setupServer, fill, [
                http.get(`${ORIGIN}/api/people/:id`, ({ params }) => {
                    const person = store.get(params.id);
                    return person ? HttpResponse.json(person) : HttpResponse.json({ error: 'not found' }, { status: 404 });
                }),
                http.get(`${ORIGIN}/api/people`, ({ request }) => {
                    // The first `_limit` values in insertion order; the loop stops there, so a list
                    // costs the same however many people POSTs have added.
                    const limit = limitOf(request);
                    const page = [];
                    for (const person of store.values()) {
                        if (page.length >= limit) break;
                        page.push(person);
                    }
                    return HttpResponse.json(page);
                }),
                http.post(`${ORIGIN}/api/people`, async ({ request }) => {
                    const person = { ...(await request.json()), _id: randomUUID() };
                    store.set(person._id, person);
                    return HttpResponse.json(person, { status: 201 });
                }),
            ]);
        },
    },
    data: {
        label: 'MSW + @mswjs/data',
        async load() {
            // One after the other: @mswjs/data require()s msw, which must not be half loaded by an
            // import() still under way.
            const msw = await loadMsw();
            const data = await import('@mswjs/data');
            return { ...msw, factory: data.factory, primaryKey: data.primaryKey, drop: data.drop };
        },
        make({ http, HttpResponse, setupServer, factory, primaryKey, drop }, people) {
            const db = factory({
                person: { _id: primaryKey(String), first_name: String, last_name: String, age: Number },
            });
            const fill = () => {
                drop(db);
                for (const person of people) db.person.create(person);
            };
            fill();
            return mswSetup(setupServer, fill, [
                http.get(`${ORIGIN}/api/people/:id`, ({ params }) => {
                    const person = db.person.findFirst({ where: { _id: { equals: params.id } } });
                    return person ? HttpResponse.json(person) : HttpResponse.json({ error: 'not found' }, { status: 404 });
                }),
                http.get(`${ORIGIN}/api/people`, ({ request }) => {
                    const limit = limitOf(request);
                    return HttpResponse.json(db.person.findMany(limit === Infinity ? {} : { take: limit }));
                }),
                http.post(`${ORIGIN}/api/people`, async ({ request }) => {
                    const person = db.person.create({ ...(await request.json()), _id: randomUUID() });
                    return HttpResponse.json(person, { status: 201 });
                }),
            ]);
        },
    },
};

async function loadMsw() {
    const { http, HttpResponse } = await import('msw');
    const { setupServer } = await import('msw/node');
    return { http, HttpResponse, setupServer };
}

// An MSW server over these handlers; requests go through the global `fetch` while it listens.
// An unhandled request is an error, so a handler that does not match shows up as a failed check.
// `fill` puts the seeded people back in the handlers' store.
function mswSetup(setupServer, fill, handlers) {
    const server = setupServer(...handlers);
    let listening = false;
    return {
        start() {
            server.listen({ onUnhandledRequest: 'error' });
            listening = true;
        },
        stop() {
            if (listening) server.close();
            listening = false;
        },
        fetch: (url, init) => globalThis.fetch(url, init),
        reset: fill,
        dispose() {
            this.stop();
        },
    };
}

// A fixed pseudo-random sequence of existing ids (a linear congruential generator, as
// bench/mock-fetch.mjs's).
function idSequence(count, state) {
    const ids = [];
    for (let i = 0; i < count; i++) {
        state = (state * 1103515245 + 12345) % 2147483648;
        ids.push(id(state % PEOPLE));
    }
    return ids;
}

// The requests of one round, the same for every setup: [url, init, check] for each.
function roundRequests(round, counts) {
    const json = { 'content-type': 'application/json' };
    return {
        get: idSequence(counts.gets, 12345 + round).map((want) => [
            `${ORIGIN}/api/people/${want}`,
            undefined,
            (status, body) => status === 200 && body?._id === want,
        ]),
        list: Array.from({ length: counts.lists }, () => [
            `${ORIGIN}/api/people?_limit=20`,
            undefined,
            (status, body) => status === 200 && Array.isArray(body) && body.length === 20 && body[0]._id === id(0),
        ]),
        post: Array.from({ length: counts.posts }, (_, i) => {
            const last = `Skywalker${round}_${i}`;
            return [
                `${ORIGIN}/api/people`,
                { method: 'POST', headers: json, body: JSON.stringify({ first_name: 'Luke', last_name: last, age: 19 + (i % 40) }) },
                (status, body) => (status === 200 || status === 201) && body?.last_name === last && typeof body._id === 'string',
            ];
        }),
    };
}

// Sends the requests one after another, each body read whole, and returns µs per request.
async function timeBatch(setup, label, requests) {
    const started = performance.now();
    for (const [url, init, check] of requests) {
        const res = await setup.fetch(url, init);
        const body = await res.json();
        if (!check(res.status, body)) {
            throw new Error(`${label}: ${init?.method ?? 'GET'} ${url} answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
        }
    }
    return ((performance.now() - started) * 1000) / requests.length;
}

const WORKLOADS = [
    ['get', 'GET by id'],
    ['list', 'list (first 20)'],
    ['post', 'POST'],
];

function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// The rounds in this process: every setup made once, each round running each setup's workloads
// with its interception on, then putting its store back to the seeded people, so every round
// measures the same data (an @mswjs/data lookup scans its items, so a store grown by earlier
// rounds' POSTs would slow later rounds).
async function measureRounds(counts) {
    const names = Object.keys(SETUPS);
    const people = seedPeople();
    const made = {};
    const times = Object.fromEntries(names.map((name) => [name, { get: [], list: [], post: [] }]));
    try {
        for (const name of names) {
            made[name] = SETUPS[name].make(await SETUPS[name].load(), people);
        }
        // Round 0 is the warm-up; its figures are dropped.
        for (let round = 0; round <= counts.rounds; round++) {
            const requests = roundRequests(round, counts);
            for (let k = 0; k < names.length; k++) {
                const name = names[(round + k) % names.length];
                const setup = made[name];
                setup.start();
                try {
                    for (const [workload] of WORKLOADS) {
                        const us = await timeBatch(setup, SETUPS[name].label, requests[workload]);
                        if (round > 0) times[name][workload].push(us);
                    }
                } finally {
                    setup.stop();
                }
                setup.reset();
            }
            process.stderr.write(round === 0 ? 'msw: warm-up done\n' : `msw: round ${round} of ${counts.rounds} done\n`);
        }
    } finally {
        for (const setup of Object.values(made)) await setup.dispose();
    }
    return times;
}

// In a fresh process (--first NAME): loads the setup's modules, then times making its store and
// mock and starting it, up to the first GET's body read. Prints one JSON line.
async function firstRequest(name) {
    const spec = SETUPS[name];
    if (!spec) throw new Error(`--first ${name}: the setups are ${Object.keys(SETUPS).join(', ')}`);
    const people = seedPeople();
    const loading = performance.now();
    const modules = await spec.load();
    const started = performance.now();
    const setup = spec.make(modules, people);
    try {
        setup.start();
        const made = performance.now();
        const res = await setup.fetch(`${ORIGIN}/api/people/${id(7)}`);
        const body = await res.json();
        const done = performance.now();
        if (res.status !== 200 || body?._id !== id(7)) {
            throw new Error(`${spec.label}: the first GET answered ${res.status}: ${JSON.stringify(body)}`);
        }
        // performance.now() counts from the process's start.
        console.log(JSON.stringify({ importMs: started - loading, firstMs: done - started, makeMs: made - started, sinceStartMs: done }));
    } finally {
        setup.stop();
        await setup.dispose();
    }
}

// Runs `node bench/msw.mjs --first NAME`, waits for it to exit (killing it after 60 s) and returns
// what it printed.
function spawnFirst(name) {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--first', name], {
            cwd: ROOT,
            stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk) => (out += chunk));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            const line = out.trim().split('\n').pop();
            if (code !== 0 || !line) {
                reject(new Error(`--first ${name} exited with ${signal ?? code}: ${out.trim()}`));
                return;
            }
            resolve(JSON.parse(line));
        });
    });
}

async function measureFirst(spawns) {
    const names = Object.keys(SETUPS);
    const runs = Object.fromEntries(names.map((name) => [name, []]));
    for (let i = 0; i < spawns; i++) {
        for (const name of names) runs[name].push(await spawnFirst(name));
    }
    return Object.fromEntries(
        names.map((name) => [
            name,
            {
                firstMs: median(runs[name].map((r) => r.firstMs)),
                firstMin: Math.min(...runs[name].map((r) => r.firstMs)),
                firstMax: Math.max(...runs[name].map((r) => r.firstMs)),
                makeMs: median(runs[name].map((r) => r.makeMs)),
                importMs: median(runs[name].map((r) => r.importMs)),
                sinceStartMs: median(runs[name].map((r) => r.sinceStartMs)),
            },
        ]),
    );
}

function version(path) {
    return JSON.parse(readFileSync(`${ROOT}/${path}`, 'utf8')).version;
}

const fmt = (us) => (us >= 100 ? us.toFixed(0) : us.toFixed(1));
const ratio = (x) => `${x.toFixed(1)}×`;
const met = (ok) => (ok ? 'met' : 'not met');

function section(counts, times, first, load) {
    const cpus = os.cpus();
    const date = new Date().toISOString().slice(0, 10);
    const cell = (values) => `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
    const lines = [];
    lines.push(HEADING, '');
    lines.push(
        `Measured by \`node bench/msw.mjs --write\` (what \`BENCH_ONLY=msw bash bench/run.sh\` runs) on ${date}.`,
        `Machine: ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus.length} CPUs, ${os.type()} ${os.release()}; node ${process.version};`,
        `mock-rest-api ${version('npm/package.json')} (npm/, this tree), msw ${version('node_modules/msw/package.json')}, @mswjs/data ${version('node_modules/@mswjs/data/package.json')}.`,
        `Load average (1 min) ${load[0].toFixed(2)} at the start, ${load[1].toFixed(2)} at the end (other work may share this machine; the setups take turns within each round).`,
        '',
        `The same ${PEOPLE.toLocaleString('en-US')} people (\`{first_name, last_name, age}\`, ids given) and the same requests in one`,
        'Node process, in three setups: `createMock({ seed })` with `mock.fetch`; MSW 2 (`setupServer` from',
        '`msw/node`) with three `http` handlers over a `Map` keyed by id, through the global `fetch` while',
        '`server.listen()` is on; and the same handlers over an @mswjs/data `factory` model with a',
        '`primaryKey` (`findFirst` by id, `findMany({ take })`, `create`). GET by id draws existing ids',
        '(the same sequence in every setup); the list is `GET /api/people?_limit=20` (createMock pages; the',
        'MSW handlers take the first 20 of their store, the `Map`\'s in a loop that stops at 20); POST sends',
        'a new person, which the store keeps until the end of that setup\'s turn in the round, when it goes',
        `back to the ${PEOPLE.toLocaleString('en-US')} people (untimed). Every body is read with \`await res.json()\` and checked.`,
        `After a warm-up round, ${counts.rounds} rounds each ran every setup in turn (the order rotating) for`,
        `${counts.gets.toLocaleString('en-US')} GETs, ${counts.lists.toLocaleString('en-US')} lists and ${counts.posts.toLocaleString('en-US')} POSTs, one request at a time; a round's figure is its time over`,
        'its count. µs per request, the median of the rounds (their range in brackets); the last two columns',
        'divide MSW\'s median by createMock\'s (how many times faster createMock is):',
        '',
        '| workload | createMock µs | MSW + Map µs | MSW + @mswjs/data µs | MSW + Map / createMock | MSW + @mswjs/data / createMock |',
        '|---|---:|---:|---:|---:|---:|',
    );
    const ratios = {};
    for (const [workload, label] of WORKLOADS) {
        const ours = median(times.createMock[workload]);
        const map = median(times.map[workload]);
        const data = median(times.data[workload]);
        ratios[workload] = map / ours;
        lines.push(
            `| ${label} | ${cell(times.createMock[workload])} | ${cell(times.map[workload])} | ${cell(times.data[workload])} | ` +
                `${ratio(map / ours)} | ${ratio(data / ours)} |`,
        );
    }
    lines.push(
        '',
        `The first request in a process: a fresh \`node\` for each setup and spawn (${counts.spawns} spawns each, taking turns;`,
        'the median, range in brackets), timed with `performance.now()` from just before the store and mock',
        'are made (`createMock({ seed })`; the `Map` or the model filled, then `setupServer(...).listen()`) to',
        'the first GET\'s body read; of it, the time until the mock is made and listening (the rest is the first',
        'request and its body). The modules\' import comes before that and is shown apart, as is the time from',
        'the process\'s start to that body:',
        '',
        '| setup | first request ms | of it, making the mock ms | import ms | from the process\'s start ms |',
        '|---|---:|---:|---:|---:|',
    );
    for (const name of Object.keys(SETUPS)) {
        const f = first[name];
        lines.push(
            `| ${SETUPS[name].label} | ${f.firstMs.toFixed(2)} (${f.firstMin.toFixed(2)}–${f.firstMax.toFixed(2)}) | ` +
                `${f.makeMs.toFixed(1)} | ${f.importMs.toFixed(1)} | ${f.sinceStartMs.toFixed(1)} |`,
        );
    }
    const fast = WORKLOADS.every(([workload]) => ratios[workload] >= 5);
    lines.push(
        '',
        '| target | this run |',
        '|---|---|',
        `| createMock at least 5× MSW with a \`Map\` on GET, list and POST | ` +
            `GET ${ratio(ratios.get)}, list ${ratio(ratios.list)}, POST ${ratio(ratios.post)}: ${met(fast)} |`,
        `| createMock's first request in a process under 10 ms | ${first.createMock.firstMs.toFixed(2)} ms: ${met(first.createMock.firstMs < 10)} |`,
    );
    return lines.join('\n') + '\n';
}

// Keeps this run as a record in bench/history/ (the form bench/page.py's `save` writes), which
// bench/page.py then draws into docs/benchmarks.md with the other records.
function saveRecord(text, figures) {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    const day = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
    const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
    const cpus = os.cpus();
    const record = {
        section: 'msw',
        date: `${day} ${pad(now.getHours())}:${pad(now.getMinutes())}`,
        command: 'BENCH_ONLY=msw bash bench/run.sh',
        machine: `${cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${os.type()} ${os.release()}; node ${process.version}`,
        figures,
        text,
    };
    mkdirSync(`${ROOT}bench/history`, { recursive: true });
    const path = `${ROOT}bench/history/${day}-${time}-msw.json`;
    writeFileSync(path, JSON.stringify(record, null, 1) + '\n');
    return path;
}

function options(args) {
    const out = { rounds: 5, gets: 2000, lists: 200, posts: 2000, spawns: 5, write: false };
    for (let i = 0; i < args.length; i++) {
        const key = args[i].replace(/^--/, '');
        if (args[i] === '--write') {
            out.write = true;
            continue;
        }
        const value = Number(args[i + 1]);
        if (!(key in out) || key === 'write' || !Number.isSafeInteger(value) || value < 1) {
            console.error(`msw: bad argument \`${args[i]} ${args[i + 1] ?? ''}\`; expected --rounds, --gets, --lists, --posts or --spawns with a whole number, or --write`);
            process.exit(2);
        }
        out[key] = value;
        i++;
    }
    return out;
}

async function main() {
    const args = process.argv.slice(2);
    if (args[0] === '--first') {
        await firstRequest(args[1]);
        return;
    }
    const counts = options(args);
    const loadStart = os.loadavg()[0];
    const times = await measureRounds(counts);
    process.stderr.write(`msw: the first request, ${counts.spawns} spawns per setup\n`);
    const first = await measureFirst(counts.spawns);
    const text = section(counts, times, first, [loadStart, os.loadavg()[0]]);
    console.log(text);
    if (counts.write) {
        const path = saveRecord(text, { counts, times, first, load: [loadStart, os.loadavg()[0]] });
        process.stderr.write(`msw: kept ${path.slice(ROOT.length)}; \`python3 bench/page.py\` draws the page\n`);
    }
}

try {
    await main();
} catch (error) {
    console.error(`msw: ${error.message}`);
    process.exitCode = 1;
}
