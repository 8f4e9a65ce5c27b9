import type { EngineSettings } from './index.js';

/** The paths the worker answers unless told otherwise. */
export declare const DEFAULT_PREFIXES: readonly string[];

export interface StartMockOptions extends EngineSettings {
    /** Paths the worker answers (default `DEFAULT_PREFIXES`); other requests go to the network. */
    prefixes?: readonly string[];
    /** Other origins whose requests under the prefixes are mocked too. */
    origins?: readonly string[];
    /**
     * The store to use (default `"default"`); each namespace is an IndexedDB database. A request's
     * `X-Mock-Namespace` picks one made within it (`default`: this one).
     */
    namespace?: string;
    /** The data a new namespace starts with: `{"type": [items]}`, as an object or JSON text. */
    seed?: Record<string, unknown> | string | null;
    /**
     * When the namespace was started before with another `seed` (its stored data came from that
     * one), start it again from this one (`POST /__admin/reset`). Without it, the namespace keeps
     * its data and a console warning says so.
     */
    reseed?: boolean;
    /** The rules a namespace starts with and a reset restores: an array of rules, or its JSON text. */
    rules?: Array<Record<string, unknown>> | string | null;
    /**
     * An OpenAPI document (3.0, 3.1 or Swagger 2.0; JSON or YAML text, or an object) whose paths the
     * worker answers, validated and with state. Unless `prefixes` is given, the worker answers the
     * mock's own paths and every path under the first segment of each of the document's paths.
     */
    openapi?: Record<string, unknown> | string | null;
    /** The worker's URL (default `/mock-sw.js`, where `npx mock-rest-api init public/` puts it). */
    serviceWorker?: string | URL;
    /** The worker's scope (default: the folder of the worker). */
    scope?: string;
    /** How long to wait for the worker to take control, in milliseconds (default 10000). */
    timeoutMs?: number;
}

/** Starts the mock for this page; resolves once its service worker controls the page. */
export declare function startMock(
    options?: StartMockOptions,
): Promise<{ namespace: string; registration: ServiceWorkerRegistration }>;
