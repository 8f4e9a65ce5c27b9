// The production build of the Vite app of tests/node/vite-app, made the way docs/browser.md says
// (`import.meta.env.DEV` around startMock, and vite.config.js's plugin): it holds none of the mock's
// files and no code of the mock, and still has the app.
//
//   node tests/node/vite-build.mjs APP_DIR TMP_DIR
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';

const [appDir, tmp] = process.argv.slice(2);
if (!appDir || !tmp) {
    console.error('usage: node tests/node/vite-build.mjs APP_DIR TMP_DIR');
    process.exit(2);
}

const outDir = join(tmp, 'vite-dist');
await build({ root: appDir, logLevel: 'warn', cacheDir: join(tmp, 'vite-build-cache'), build: { outDir, emptyOutDir: true } });

/** Every file of the build, by its path under outDir. */
function files(dir, prefix = '') {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path, `${prefix}${name}/`) : [`${prefix}${name}`];
    });
}

const built = files(outDir);
console.log(`vite build: ${built.join(', ')}`);
assert.ok(built.includes('index.html'), 'the app is built');
assert.ok(built.some((file) => file.endsWith('.js')), 'the app has its script');
for (const file of built) {
    assert.doesNotMatch(file, /(^|\/)mock[-_.]/, `the build holds the mock's file ${file}`);
    const text = readFileSync(join(outDir, file), 'utf8');
    for (const mark of ['startMock', 'mock-sw.js', 'MockEndpoint']) {
        assert.ok(!text.includes(mark), `${file} holds the mock's code (${mark})`);
    }
}
console.log("vite build: no file and no code of the mock in the production build");
