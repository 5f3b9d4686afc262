//! Round-trip-time estimation and the retransmission timeout (reference §4.4).
//!
//! The same smoothed estimator as the plugin and agent (α = 1/8, β = 1/4, clock granularity
//! 10 ms), bounded below and above, plus what they lack: Karn's rule (the caller feeds samples of
//! first transmissions only) and per-message exponential backoff.

use std::time::Duration;

/// Tunables of the estimator. Defaults are the plugin's constants plus a lower bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttConfig {
    /// SRTT before the first sample (plugin: 100 ms).
    pub initial_srtt: Duration,
    /// RTO before the first sample (plugin: 200 ms).
    pub initial_rto: Duration,
    /// G in `RTO = SRTT + max(G, 4·RTTVAR)` (plugin: 10 ms).
    pub clock_granularity: Duration,
    /// Lower bound of the RTO, so a burst of loopback samples cannot make it spin.
    pub min_rto: Duration,
    /// Upper bound of the base RTO (plugin: 1 s).
    pub max_rto: Duration,
    /// Upper bound of one message's backed-off timeout.
    pub max_backoff: Duration,
}

impl Default for RttConfig {
    fn default() -> Self {
        Self {
            initial_srtt: Duration::from_millis(100),
            initial_rto: Duration::from_millis(200),
            clock_granularity: Duration::from_millis(10),
            min_rto: Duration::from_millis(20),
            max_rto: Duration::from_secs(1),
            max_backoff: Duration::from_secs(4),
        }
    }
}

/// The running estimate.
#[derive(Clone, Debug)]
pub struct RttEstimator {
    config: RttConfig,
    srtt: Duration,
    rttvar: Duration,
    rto: Duration,
}

impl RttEstimator {
    /// A fresh estimator.
    pub fn new(config: RttConfig) -> Self {
        Self {
            config,
            srtt: config.initial_srtt,
            rttvar: Duration::ZERO,
            rto: config.initial_rto.clamp(config.min_rto, config.max_rto),
        }
    }

    /// Feeds one sample: the time from a message's only transmission to its ack.
    pub fn observe(&mut self, sample: Duration) {
        // RTTVAR ← (1−β)·RTTVAR + β·|SRTT − R|, then SRTT ← (1−α)·SRTT + α·R, β = 1/4, α = 1/8.
        self.rttvar = self.rttvar * 3 / 4 + self.srtt.abs_diff(sample) / 4;
        self.srtt = self.srtt * 7 / 8 + sample / 8;
        let rto = self.srtt + self.config.clock_granularity.max(self.rttvar * 4);
        self.rto = rto.clamp(self.config.min_rto, self.config.max_rto);
    }

    /// The smoothed round-trip time.
    pub fn srtt(&self) -> Duration {
        self.srtt
    }

    /// The current retransmission timeout for a first transmission.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// The timeout after `retransmissions` resends: RTO doubled per resend, capped.
    pub fn backed_off(&self, retransmissions: u32) -> Duration {
        let factor = 1_u32 << retransmissions.min(16);
        self.rto
            .saturating_mul(factor)
            .min(self.config.max_backoff.max(self.rto))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn starts_from_the_plugin_constants() {
        let estimator = RttEstimator::new(RttConfig::default());
        assert_eq!(estimator.rto(), millis(200));
        assert_eq!(estimator.srtt(), millis(100));
    }

    #[test]
    fn follows_the_reference_formula() {
        let mut estimator = RttEstimator::new(RttConfig::default());
        estimator.observe(millis(180));
        // RTTVAR = 0·3/4 + |100−180|/4 = 20; SRTT = 100·7/8 + 180/8 = 110; RTO = 110 + max(10, 80).
        assert_eq!(estimator.srtt(), millis(110));
        assert_eq!(estimator.rto(), millis(190));
        for _ in 0..200 {
            estimator.observe(millis(40));
        }
        // Converges to SRTT ≈ 40 ms, RTTVAR ≈ 0: RTO = 40 + G.
        assert!(
            estimator.rto().abs_diff(millis(50)) < millis(2),
            "{:?}",
            estimator.rto()
        );
    }

    #[test]
    fn is_bounded_both_ways() {
        let mut estimator = RttEstimator::new(RttConfig::default());
        for _ in 0..200 {
            estimator.observe(Duration::ZERO);
        }
        assert_eq!(estimator.rto(), millis(20));
        for _ in 0..50 {
            estimator.observe(Duration::from_secs(30));
        }
        assert_eq!(estimator.rto(), Duration::from_secs(1));
    }

    #[test]
    fn backs_off_exponentially_up_to_the_cap() {
        let estimator = RttEstimator::new(RttConfig::default());
        let timeouts: Vec<Duration> = (0..6).map(|n| estimator.backed_off(n)).collect();
        assert_eq!(
            timeouts,
            [
                millis(200),
                millis(400),
                millis(800),
                millis(1600),
                millis(3200),
                millis(4000)
            ]
        );
        assert_eq!(estimator.backed_off(u32::MAX), millis(4000));
    }
}
