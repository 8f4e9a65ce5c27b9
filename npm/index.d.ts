/** One of the engine's settings, from its table (the same table the native server's flags come from). */
export interface Setting {
    /** The environment variable: `DELAY_MS`. */
    readonly name: string;
    /** The command's flag, without dashes: `delay-ms`. */
    readonly flag: string;
    /** The option of `createMock` and `startMock`: `delayMs`. */
    readonly jsName: string;
    /** The default, as text (empty: not set). */
    readonly default: string;
    /** What it does, in one line. */
    readonly help: string;
    /** Whether its value must never be shown (`API_TOKEN`). */
    readonly secret: boolean;
}

/** Every setting of the engine. */
export declare const SETTINGS: readonly Setting[];

/** A setting's value: text, a whole number, or a list (joined with commas). */
export type SettingValue = string | number | readonly string[];

/** The engine's settings, by their JavaScript names (their environment names are taken too). */
export interface EngineSettings {
    apiPrefix?: SettingValue;
    appName?: SettingValue;
    appVersion?: SettingValue;
    apiToken?: SettingValue;
    authScope?: 'all' | 'writes';
    createStatus?: 200 | 201 | '200' | '201';
    corsOrigins?: SettingValue;
    delayMs?: SettingValue;
    idField?: SettingValue;
    /** `1`: the json-server preset (`idField: 'id'`, `apiPrefix: '/'`, `createStatus: 201` unless given, and json-server 0.17's answers where this mock's differ). */
    jsonServer?: SettingValue;
    journalSize?: SettingValue;
    /** `1`: writes to the data are 403, as json-server's `--read-only`; reads and `/__admin` work. */
    readOnly?: SettingValue;
    maxBodyBytes?: SettingValue;
    maxItems?: SettingValue;
    /** The most namespaces (`X-Mock-Namespace`) held at once; past it a new one takes the place of one idle `namespaceIdleSecs`, else gets 507. Default 1000. */
    maxNamespaces?: SettingValue;
    maxRules?: SettingValue;
    maxStoreBytes?: SettingValue;
    maxSubscribers?: SettingValue;
    maxTypes?: SettingValue;
    maxUriBytes?: SettingValue;
    /** With `openapi`: how many generated items each collection of the document starts with when it has no example list (default 10). */
    openapiSeedItems?: SettingValue;
    /** With `openapi`: what generated data is drawn from (the `SEED` setting, `--seed`); the same seed gives the same data on every run and host. Default 0. */
    openapiSeed?: SettingValue;
    /** Seconds a namespace must go unused before a new one may take its place past `maxNamespaces` (default 300). */
    namespaceIdleSecs?: SettingValue;
    /** An http(s) URL: what no rule answers goes there. Not in the browser, which does not proxy. */
    proxyTarget?: SettingValue;
    /** Milliseconds the target may take to answer whole (default 10000); then 504. */
    proxyTimeoutMs?: SettingValue;
    /** 1: every proxied answer becomes a rule, and a collection GET fills the store. */
    record?: '0' | '1' | 0 | 1;
    timestamps?: 0 | 1 | '0' | '1';
}

/**
 * A store in the snapshot format: each resource type with its items, and each singular resource
 * (a top-level object, as in json-server's db.json) with its object.
 */
export type Snapshot = Record<string, Array<Record<string, unknown>> | Record<string, unknown>>;

export interface MockOptions extends EngineSettings {
    /**
     * The store every namespace starts from and `reset()` (or `POST /__admin/reset`) returns to:
     * `{"type": [items]}` (a json-server db.json too), as an object or as JSON text.
     */
    seed?: Snapshot | Record<string, unknown> | string | null;
    /**
     * The rules every namespace starts with and `reset()` restores: an array of rules as
     * `GET /__admin/rules` lists them, or its JSON text.
     */
    rules?: Rule[] | string | null;
    /**
     * What intercepted `fetch` does with a request to an origin it does not intercept (the
     * mock's own `listen()` port aside): `'warn'` (the default) logs it and lets it through,
     * `'bypass'` lets it through silently, `'error'` rejects it with a TypeError.
     */
    onUnhandledRequest?: 'warn' | 'error' | 'bypass';
    /**
     * An OpenAPI document (3.0, 3.1 or Swagger 2.0) whose paths the mock answers: each request
     * validated against its operation, answers chosen as Prism chooses them, collections kept in
     * the store. JSON or YAML text, or the document as an object. A document that cannot be used
     * throws, naming the JSON pointer and why.
     */
    openapi?: Record<string, unknown> | string | null;
}

/** A rule, as `POST /__admin/rules` takes it (see the rules documentation). */
export interface Rule {
    /** Given by the mock unless the rule brings one. */
    id?: string;
    /** Which requests it answers; with none, every request. */
    match?: RequestMatcher & {
        /** Headers the request must have, with these values (names in any case). */
        headers?: Record<string, string | number | boolean>;
    };
    respond: {
        /** The answer's status; without it (and without `fault`) the request goes through. */
        status?: number;
        headers?: Record<string, string>;
        /** A JSON body; strings may hold `{{path.N}}`, `{{query.NAME}}`, `{{body.a.b}}`, `{{header.NAME}}`, `{{uuid}}`, `{{now}}`. */
        json?: unknown;
        /** A text body. */
        body?: string;
        delay_ms?: number;
        fault?: 'reset' | 'malformed';
    };
    /** How many matches it answers before it is gone; forever without. */
    times?: number;
    /** Higher wins; the newest among equals. */
    priority?: number;
    /** The scenario (WireMock's) the rule belongs to; every scenario starts in `Started`. */
    scenario?: string;
    /** The rule answers only while its scenario is in this state. */
    whenState?: string;
    /** The state its scenario moves to when the rule answers. */
    setState?: string;
}

/** Which requests to look for in the journal: a rule's `match` object (headers are not kept). */
export interface RequestMatcher {
    /** `GET`, `POST`, ... (any case). */
    method?: string;
    /** A path pattern: `*` is one segment, `**` any number (`/api/orders/*`). */
    path?: string;
    /** Query parameters the request must have, with these values. */
    query?: Record<string, string | number | boolean>;
    /** A JSON subset the body must contain. */
    body?: unknown;
}

/** One request the journal recorded, as `GET /__admin/requests` lists it. */
export interface JournalEntry {
    seq: number;
    time: string;
    method: string;
    path: string;
    query: string;
    status: number;
    /** The first 4 KiB of the body, as text. */
    body: string;
    body_truncated: boolean;
    /** The id of the rule that answered the request or let it through. */
    rule: string | null;
    /** The PROXY_TARGET that answered, for a proxied request. */
    proxied?: string;
}

/** How many matching requests `verify` expects; with none given, at least one. */
export interface VerifyOptions {
    times?: number;
    atLeast?: number;
    atMost?: number;
    /** The namespace whose journal to search (default `"default"`). */
    namespace?: string;
}

export interface Mock {
    /**
     * Answers like `fetch(input, init)`, from the mock. A relative URL (`/api/x`) is on http://localhost.
     * `init.signal` is honoured as `fetch` honours it; delays wait on the global `setTimeout`.
     */
    fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
    /**
     * Answers the global `fetch` from the mock for these origins (such as `https://api.example.com`)
     * until `restore()`; requests to other origins go to the real `fetch`.
     */
    intercept(origins: string | readonly string[]): Mock;
    /** Gives the global `fetch` back. */
    restore(): Mock;
    /** Serves the mock on a free port of 127.0.0.1; resolves to its base URL (`http://127.0.0.1:PORT`). */
    listen(): Promise<string>;
    /** The recorded requests `match` matches, oldest first (every request without a matcher). */
    calls(match?: RequestMatcher, options?: { namespace?: string }): JournalEntry[];
    /**
     * Throws unless the count of recorded requests `match` matches is as expected (at least one by
     * default); the message shows the closest requests that did not match and what each missed.
     */
    verify(match?: RequestMatcher, expected?: VerifyOptions): Mock;
    /**
     * Adds rules to the default namespace until `resetRules()` or `reset()`; they win over the
     * rules the mock started with. A bad rule throws naming its field, and none is added.
     */
    use(...rules: Rule[]): Mock;
    /** Deletes the rules `use` added. */
    resetRules(): Mock;
    /**
     * A namespace's store (default `"default"`). Give the store's shape for typed assertions:
     * `mock.snapshot<{ todos: Todo[] }>().todos`.
     */
    snapshot<T extends object = Snapshot>(namespace?: string): T;
    /** Starts every namespace again from the seed (or empty). */
    reset(): Mock;
    /** Restores `fetch`, stops listening and frees the store. */
    close(): Promise<void>;
}

/**
 * A mock with a real CRUD store, in-process: no process and no port until `listen()`. Throws an
 * Error naming an option that is not a setting or a value a setting cannot take, and on a bad seed.
 */
export declare function createMock(options?: MockOptions): Mock;
