//! The native host's speed machinery: what the server does only to be fast,
//! each piece with the figure that justifies it. Nothing here changes an
//! answer; without it the server answers the same, slower. The figures are
//! measured by `BENCH_ONLY=limit bash bench/run.sh` against a bare salvo
//! handler on the same runtime; `docs/benchmarks.md` ("The limit" and the
//! sections on its rounds) records them with the allocation counts.
//!
//! - [`log`]: the log's writer, a bounded buffer a thread of its own writes
//!   to stderr, and the request line written straight into it in
//!   `tracing_subscriber`'s text rather than through `tracing`'s event and
//!   field formatting (about 0.4 µs of CPU a request, a tenth of a POST's
//!   margin over the 60%-of-bare target when it was measured).
//! - [`pool`]: requests kept for reuse per thread (allocations per POST 63
//!   to 47 when it was measured).
//! - [`timers`]: a timer kept due, so that hyper's per-request header timer
//!   costs no eventfd write while the server idles between journal fsyncs.

pub mod log;
pub(crate) mod pool;
pub(crate) mod timers;
