//! Randomness that never blocks, for the jitter that keeps many clients
//! from acting in step (DHCP retransmissions, RFC 2131 §4.1; the random
//! start delay; backoff after a busy server) and for DHCP transaction ids.
//! Nothing here is a secret.
//!
//! The source is getrandom(2): `GRND_INSECURE` (Linux 5.6) never blocks;
//! on an older kernel `GRND_NONBLOCK` is tried, which fails with `EAGAIN`
//! while the entropy pool is not yet initialised (early boot, no hardware
//! RNG: the case that matters here). Without either, the seed is the
//! bytes the caller mixes in (the MAC address: different per guest), the
//! boot-time and wall clocks in nanoseconds, the process id and a counter,
//! through the SplitMix64 finaliser, so that two guests booting at the
//! same instant still draw different numbers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Draws since the process started: no two fallback seeds are alike.
static DRAWS: AtomicU64 = AtomicU64::new(0);

/// The SplitMix64 step and finaliser (Steele, Lea, Flood 2014).
fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Eight bytes from getrandom(2) without ever blocking, if the kernel has
/// them.
fn getrandom_u64() -> Option<u64> {
    for flags in [libc::GRND_INSECURE, libc::GRND_NONBLOCK] {
        let mut b = [0u8; 8];
        // SAFETY: getrandom writes at most 8 bytes into `b`, which we own.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), flags) };
        if n == 8 {
            return Some(u64::from_ne_bytes(b));
        }
    }
    None
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`, which we own.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The seed when the kernel has no random bytes to give: `mix`, the
/// clocks, the process id and the draw counter.
fn fallback_seed(mix: &[u8], draw: u64) -> u64 {
    let mut x = clock_ns(libc::CLOCK_BOOTTIME) ^ clock_ns(libc::CLOCK_REALTIME).rotate_left(29);
    x ^= u64::from(std::process::id()) << 40;
    x ^= draw.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut out = splitmix(&mut x);
    for chunk in mix.chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        x ^= u64::from_le_bytes(b);
        out ^= splitmix(&mut x);
    }
    out
}

/// A random u64: getrandom(2) if it answers without blocking, else a
/// mix of `mix` (pass something that differs between machines, such as
/// the MAC address), the clocks, the pid and a counter.
pub fn u64_mixed(mix: &[u8]) -> u64 {
    let draw = DRAWS.fetch_add(1, Ordering::Relaxed);
    getrandom_u64().unwrap_or_else(|| fallback_seed(mix, draw))
}

/// A small generator for a sequence of draws (one seed from
/// [`u64_mixed`], then SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from [`u64_mixed`]`(mix)`.
    pub fn new(mix: &[u8]) -> Rng {
        Rng(u64_mixed(mix))
    }

    /// Seeded with `seed` (tests).
    #[cfg(test)]
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next u64.
    pub fn next_u64(&mut self) -> u64 {
        splitmix(&mut self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0), without modulo bias worth
    /// speaking of (`n` is far below 2^64).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `0..max`, in microseconds.
    pub fn duration_below(&mut self, max: Duration) -> Duration {
        let us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.below(us))
    }

    /// `d` scaled by a factor uniform in `[1 - spread, 1 + spread)`
    /// (`spread` within 0..=1): the jitter of a backoff.
    pub fn jitter(&mut self, d: Duration, spread: f64) -> Duration {
        let spread = spread.clamp(0.0, 1.0);
        let unit = self.next_u64() as f64 / (u64::MAX as f64 + 1.0);
        d.mul_f64(1.0 - spread + 2.0 * spread * unit)
    }
}

/// Jittered exponential backoff: `base · 2^attempt`, at most `cap`,
/// scaled by a factor uniform in `[0.5, 1.5)`. The schedule for asking
/// a busy server again, so that clients turned away together come back
/// spread out instead of in step.
pub fn backoff(rng: &mut Rng, attempt: u32, base: Duration, cap: Duration) -> Duration {
    let d = base.saturating_mul(1u32 << attempt.min(20)).min(cap);
    rng.jitter(d, 0.5)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn draws_differ() {
        let a = u64_mixed(&[1, 2, 3]);
        let b = u64_mixed(&[1, 2, 3]);
        assert_ne!(a, b);
    }

    /// The fallback alone (no getrandom): two machines booting at the
    /// same nanosecond differ by their MAC; one machine's draws differ by
    /// the counter.
    #[test]
    fn the_fallback_mixes_the_caller_bytes_and_the_counter() {
        let a = fallback_seed(&[0x52, 0x54, 0, 0, 0, 1], 7);
        let b = fallback_seed(&[0x52, 0x54, 0, 0, 0, 2], 7);
        assert_ne!(a, b);
        let mut seen = std::collections::HashSet::new();
        for draw in 0..1000 {
            assert!(seen.insert(fallback_seed(&[1], draw)));
        }
    }

    #[test]
    fn below_and_jitter_stay_in_range() {
        let mut r = Rng::seeded(42);
        let mut hist = [0u32; 10];
        for _ in 0..10_000 {
            let v = r.below(10);
            assert!(v < 10);
            hist[v as usize] += 1;
        }
        assert!(hist.iter().all(|&n| (800..1200).contains(&n)), "{hist:?}");
        assert_eq!(r.below(0), 0);
        let d = Duration::from_secs(4);
        let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
        for _ in 0..10_000 {
            let j = r.jitter(d, 0.25);
            assert!(
                j >= Duration::from_secs(3) && j < Duration::from_secs(5),
                "{j:?}"
            );
            lo = lo.min(j);
            hi = hi.max(j);
        }
        assert!(lo < Duration::from_millis(3050) && hi > Duration::from_millis(4950));
        assert!(r.duration_below(Duration::from_millis(500)) < Duration::from_millis(500));
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_half_jitter() {
        let mut r = Rng::seeded(1);
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(30);
        for (attempt, nominal) in [
            (0, 1.0),
            (1, 2.0),
            (2, 4.0),
            (4, 16.0),
            (5, 30.0),
            (40, 30.0),
        ] {
            for _ in 0..200 {
                let d = backoff(&mut r, attempt, base, cap).as_secs_f64();
                assert!(
                    d >= nominal * 0.5 && d < nominal * 1.5,
                    "attempt {attempt}: {d}"
                );
            }
        }
    }
}
