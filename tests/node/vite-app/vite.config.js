// The mock's files (`npx mock-rest-api init public/`) are for the dev server: Vite copies public/ into
// every build, so this plugin deletes them from the build's folder once it is written.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

/** What `npx mock-rest-api init` copies. */
const MOCK_FILES = ['mock-sw.js', 'mock-wire.js', 'mock.js', 'mock_rest_web.js', 'mock_rest_web_bg.wasm'];

function leaveOutTheMock() {
    let outDir = 'dist';
    return {
        name: 'leave-out-the-mock',
        apply: 'build',
        configResolved(config) {
            outDir = resolve(config.root, config.build.outDir);
        },
        closeBundle() {
            for (const file of MOCK_FILES) {
                rmSync(resolve(outDir, file), { force: true });
            }
        },
    };
}

export default { plugins: [leaveOutTheMock()] };
