//! Time as the domain sees it: milliseconds since the Unix epoch. Rules that depend on time take
//! the current time as an argument (or a [`Clock`]), so that they can be tested at any instant.

/// Where "now" comes from; tests substitute a fixed or stepping clock.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// The wall clock in milliseconds; a clock set before 1970 reads as 0 rather than failing a write.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020_and_does_not_go_back() {
        let a = SystemClock.now_ms();
        let b = now_ms();
        assert!(a > 1_577_836_800_000, "{a}");
        assert!(b >= a);
    }
}
