// PROXY_TARGET in Node: sends what the engine asks to forward (`outcome.forward`) with the global
// `fetch`, and reports what came back. The engine decides which requests go, with which headers
// (hop-by-hop ones, Host and Accept-Encoding removed), and what the answer becomes (502, 504, a
// recording); this file only moves bytes, bounded: the body up to `maxBodyBytes` and no further,
// the whole exchange within `timeoutMs`, redirects passed back, never followed.

// The global fetch as it was when the package loaded: `mock.intercept()` may replace it later, and the
// target must never be answered by the mock itself.
const realFetch = globalThis.fetch;

/** `{status, headers: [name, value, ...], body}` or `{failure: 'timeout'|'tooLarge'|'unreachable', reason}`. */
export async function send(forward) {
    const signal = AbortSignal.timeout(forward.timeoutMs);
    const headers = new Headers();
    for (const [name, value] of forward.headers) {
        try {
            headers.append(name, value);
        } catch {
            // A header fetch refuses to send (it came in as HTTP, so this is rare): left out.
        }
    }
    // fetch would otherwise ask for gzip and undo it, leaving a Content-Encoding that no longer holds.
    headers.set('accept-encoding', 'identity');
    const bodiless = forward.method === 'GET' || forward.method === 'HEAD';
    let response;
    try {
        response = await realFetch(forward.url, {
            method: forward.method,
            headers,
            body: bodiless || forward.body.length === 0 ? undefined : forward.body,
            redirect: 'manual',
            signal,
        });
    } catch (err) {
        return failed(err, signal);
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > forward.maxBodyBytes) {
        await response.body?.cancel().catch(() => {});
        return { failure: 'tooLarge' };
    }
    const pairs = [];
    for (const [name, value] of response.headers) {
        pairs.push(name, value);
    }
    const chunks = [];
    let size = 0;
    if (response.body) {
        const reader = response.body.getReader();
        try {
            for (;;) {
                const { done, value } = await reader.read();
                if (done) break;
                size += value.length;
                if (size > forward.maxBodyBytes) {
                    await reader.cancel().catch(() => {});
                    return { failure: 'tooLarge' };
                }
                chunks.push(value);
            }
        } catch (err) {
            return failed(err, signal);
        }
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
        body.set(chunk, at);
        at += chunk.length;
    }
    return { status: response.status, headers: pairs, body };
}

function failed(err, signal) {
    if (signal.aborted) {
        return { failure: 'timeout' };
    }
    // undici says `fetch failed` and puts the reason (ECONNREFUSED ...) in `cause`.
    const causes = [];
    for (let e = err; e && causes.length < 4; e = e.cause) {
        causes.push(e.message || e.code || String(e));
    }
    return { failure: 'unreachable', reason: causes.join(': ') };
}
