// PROXY_TARGET in Node: sends what the engine asks to forward (`outcome.forward`) with node:http or
// node:https, and reports what came back. The engine decides which requests go, with which headers
// (hop-by-hop ones, Host, Accept-Encoding and the mock's own token removed), and what the answer
// becomes (502, 504, a recording); this file only moves bytes, bounded: the body up to
// `maxBodyBytes` and no further, the whole exchange within `timeoutMs`, redirects passed back,
// never followed.
//
// Not `fetch`: undici adds headers the client did not send (`user-agent`, `accept`,
// `accept-language`, `sec-fetch-mode`) and unzips a gzip body while keeping its Content-Encoding.
// Here the request carries the client's headers, plus `Host` and `Content-Length` (the framing of
// the body) and node's `Connection: keep-alive`; the answer's bytes come back as they came.
import http from 'node:http';
import https from 'node:https';

const EMPTY = new Uint8Array(0);

/**
 * `{status, headers: [name, value, ...], body}` or `{failure: 'timeout'|'tooLarge'|'unreachable', reason}`;
 * `{failure: 'aborted', reason}` (the signal's reason) when `cancel`, the client's AbortSignal,
 * aborts first.
 */
export function send(forward, cancel) {
    return new Promise((resolve) => {
        let url;
        try {
            url = new URL(forward.url);
        } catch (err) {
            resolve({ failure: 'unreachable', reason: `\`${forward.url}\` is not a URL (${err.message})` });
            return;
        }
        if (cancel?.aborted) {
            resolve({ failure: 'aborted', reason: cancel.reason });
            return;
        }
        const timeout = AbortSignal.timeout(forward.timeoutMs);
        const signal = cancel ? AbortSignal.any([cancel, timeout]) : timeout;
        const headers = ['host', url.host];
        for (const [name, value] of forward.headers) {
            try {
                http.validateHeaderName(name);
                http.validateHeaderValue(name, value);
                headers.push(name, value);
            } catch {
                // A header node refuses to send (it came in as HTTP, so this is rare): left out.
            }
        }
        const body = forward.body.length > 0 ? forward.body : null;
        if (body !== null) {
            headers.push('content-length', String(body.length));
        }
        let done = false;
        const finish = (result) => {
            if (!done) {
                done = true;
                resolve(result);
            }
        };
        let request;
        try {
            request = (url.protocol === 'https:' ? https : http).request(url, { method: forward.method, headers, signal });
        } catch (err) {
            finish({ failure: 'unreachable', reason: err.message });
            return;
        }
        request.on('error', (err) => finish(failed(err, cancel, timeout)));
        // A 101 the mock never asked for (it forwards no Upgrade): handed to the engine, which
        // answers 502; the connection it switched is closed.
        request.on('upgrade', (response, socket) => {
            socket.destroy();
            finish({ status: response.statusCode, headers: response.rawHeaders, body: EMPTY });
        });
        request.on('response', (response) => {
            const declared = response.headers['content-length'];
            if (declared !== undefined && Number(declared) > forward.maxBodyBytes) {
                request.destroy();
                finish({ failure: 'tooLarge' });
                return;
            }
            const chunks = [];
            let size = 0;
            response.on('data', (chunk) => {
                size += chunk.length;
                if (size > forward.maxBodyBytes) {
                    // Nothing more is read: the connection is closed.
                    request.destroy();
                    finish({ failure: 'tooLarge' });
                    return;
                }
                chunks.push(chunk);
            });
            response.on('error', (err) => finish(failed(err, cancel, timeout)));
            response.on('aborted', () => finish(failed(new Error('the answer broke off'), cancel, timeout)));
            response.on('end', () => {
                finish({ status: response.statusCode, headers: response.rawHeaders, body: Buffer.concat(chunks, size) });
            });
        });
        request.end(body ?? undefined);
    });
}

function failed(err, cancel, timeout) {
    if (cancel?.aborted) {
        return { failure: 'aborted', reason: cancel.reason };
    }
    if (timeout.aborted) {
        return { failure: 'timeout' };
    }
    const causes = [];
    for (let e = err; e && causes.length < 4; e = e.cause) {
        causes.push(e.message || e.code || String(e));
    }
    return { failure: 'unreachable', reason: causes.join(': ') };
}
