// `import { startMock } from 'mock-rest-api/browser'`: the mock in the page's service worker. Run
// `npx mock-rest-api init public/` first, which puts the worker and its wasm at the site's root.
import { DEFAULT_PREFIXES, startMock as start } from './dist/browser/mock.js';

export { DEFAULT_PREFIXES };

/**
 * Starts the mock for this page (see README.md for every option) and resolves once the worker
 * controls the page. The worker is `/mock-sw.js` unless `serviceWorker` says otherwise.
 */
export function startMock(options = {}) {
    return start({ serviceWorker: '/mock-sw.js', ...options });
}
