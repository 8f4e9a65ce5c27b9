//! A timer kept due, so that tokio's driver is not woken by an eventfd write
//! for each request's header timer.

use std::time::Duration;

/// How often [`keep_timers_due`] wakes.
const TIMER_TICK: Duration = Duration::from_millis(500);

/// Keeps a timer due within [`TIMER_TICK`]. tokio wakes its timer's driver
/// (a write to an eventfd, and a wake-up) whenever a timer is set to expire
/// before the driver's next wake-up, which is that of the first timer pending
/// when the driver last went to sleep, if any. hyper sets a timer for each
/// request head (`HEADER_TIMEOUT_SECS` from then, at least a second), which
/// expired first, so a server that goes to sleep between requests, as one
/// waiting for its journal's fsync does, paid a system call per request. With
/// this timer pending, those expire after the driver's next wake-up. An idle
/// server wakes twice a second for it.
pub(crate) async fn keep_timers_due() {
    let mut tick = tokio::time::interval(TIMER_TICK);
    loop {
        tick.tick().await;
    }
}
