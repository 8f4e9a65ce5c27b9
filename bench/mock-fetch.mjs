// The round trip of `createMock().fetch` for a GET by id, in process: no socket, no port.
//
//   node bench/mock-fetch.mjs [--items N] [--warmup N] [--iterations N] [--json]
//
// Seeds a mock with N people (default 1,000; ids p0000000 upwards, as bench/bench.py's), warms up,
// then times each of the iterations with process.hrtime: `await mock.fetch('/api/people/ID')` for
// a pseudo-random existing id (the same sequence every run), and that plus reading the body with
// `await response.text()`; then, for where the time goes, the engine alone: the same requests
// straight to the package's Namespaces.handle (lib/engine.js: the wasm call that mock.fetch and the
// Node server make, without Request, Response or sockets). Prints the median, p99 and mean of each
// in µs (one JSON line with --json, for bench/bench.py). Every answer is checked: a status other
// than 200 or a body without its id stops the run with exit status 1. Needs npm/dist/
// (`bash scripts/node.sh build`).
import { createMock } from '../npm/index.js';
import { Namespaces } from '../npm/lib/engine.js';

function options(args) {
    const out = { items: 1000, warmup: 5000, iterations: 50000, json: false };
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (arg === '--json') {
            out.json = true;
            continue;
        }
        const key = arg.replace(/^--/, '');
        const value = Number(args[i + 1]);
        if (!(key in out) || key === 'json' || !Number.isSafeInteger(value) || value < 1) {
            console.error(`mock-fetch: bad argument \`${arg} ${args[i + 1] ?? ''}\`; expected --items, --warmup or --iterations with a whole number, or --json`);
            process.exit(2);
        }
        out[key] = value;
        i++;
    }
    return out;
}

const { items, warmup, iterations, json } = options(process.argv.slice(2));
const id = (i) => `p${String(i).padStart(7, '0')}`;
const people = [];
for (let i = 0; i < items; i++) {
    people.push({ first_name: 'Darth', last_name: `Vader${i % 100}`, age: 20 + (i % 50), _id: id(i) });
}
const mock = createMock({ seed: { people } });

// A fixed pseudo-random sequence of existing ids (a linear congruential generator).
let state = 12345;
function nextId() {
    state = (state * 1103515245 + 12345) % 2147483648;
    return id(state % items);
}

async function once(fetchTimes, totalTimes) {
    const want = nextId();
    const started = process.hrtime.bigint();
    const response = await mock.fetch(`/api/people/${want}`);
    const fetched = process.hrtime.bigint();
    const text = await response.text();
    const read = process.hrtime.bigint();
    if (response.status !== 200 || !text.includes(`"${want}"`)) {
        console.error(`mock-fetch: GET /api/people/${want} answered ${response.status}: ${text}`);
        process.exit(1);
    }
    if (fetchTimes) {
        fetchTimes.push(Number(fetched - started) / 1000);
        totalTimes.push(Number(read - started) / 1000);
    }
}

function stats(times) {
    const sorted = Float64Array.from(times).sort();
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    return { median: at(0.5), p99: at(0.99), mean };
}

for (let i = 0; i < warmup; i++) {
    await once(null, null);
}
const fetchTimes = [];
const totalTimes = [];
for (let i = 0; i < iterations; i++) {
    await once(fetchTimes, totalTimes);
}
await mock.close();

// The engine alone, with the headers mock.fetch passes for a plain GET.
const namespaces = new Namespaces({}, { seed: { people } });
const headers = ['host', 'localhost'];
const noBody = new Uint8Array(0);
async function handle(engineTimes) {
    const want = nextId();
    const started = process.hrtime.bigint();
    const answer = await namespaces.handle('GET', `/api/people/${want}`, headers, noBody);
    const done = process.hrtime.bigint();
    if (answer.status !== 200 || !Buffer.from(answer.body).toString().includes(`"${want}"`)) {
        console.error(`mock-fetch: the engine answered GET /api/people/${want} with ${answer.status}`);
        process.exit(1);
    }
    if (engineTimes) engineTimes.push(Number(done - started) / 1000);
}
for (let i = 0; i < warmup; i++) {
    await handle(null);
}
const engineTimes = [];
for (let i = 0; i < iterations; i++) {
    await handle(engineTimes);
}
namespaces.free();

const result = {
    items,
    warmup,
    iterations,
    fetch: stats(fetchTimes),
    fetchAndText: stats(totalTimes),
    engine: stats(engineTimes),
};
if (json) {
    console.log(JSON.stringify(result));
} else {
    const line = (name, s) => `${name}: median ${s.median.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} µs, mean ${s.mean.toFixed(1)} µs`;
    console.log(`createMock().fetch, GET by id, ${items} items, ${iterations} iterations after ${warmup} warm-up`);
    console.log(line('  fetch           ', result.fetch));
    console.log(line('  fetch + text()  ', result.fetchAndText));
    console.log(line('  engine alone    ', result.engine));
}
