//! Rates with confidence intervals, and checking them against catalog thresholds.
//!
//! A measured rate (refusals among must-refuse prompts, qualified records in a corpus sample)
//! is reported with a Wilson score interval. A threshold check answers twice: on the point
//! estimate, and on the bound that makes the claim safe — the lower bound for `>=`/`>`
//! thresholds, the upper bound for `<=`/`<`.

use crate::model::{Comparison, Threshold};

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A proportion `k / n` with its Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Successes.
    pub k: u64,
    /// Trials.
    pub n: u64,
    /// `k / n` (0 when `n` is 0).
    pub point: f64,
    /// Lower bound of the interval.
    pub lower: f64,
    /// Upper bound of the interval.
    pub upper: f64,
}

impl Rate {
    /// The rate `k / n` with a Wilson interval at `z` (use [`Z95`]). `k` is clamped to `n`.
    pub fn wilson(k: u64, n: u64, z: f64) -> Rate {
        let k = k.min(n);
        if n == 0 {
            return Rate {
                k,
                n,
                point: 0.0,
                lower: 0.0,
                upper: 1.0,
            };
        }
        let nf = n as f64;
        let p = k as f64 / nf;
        let z2 = z * z;
        let denom = 1.0 + z2 / nf;
        let center = (p + z2 / (2.0 * nf)) / denom;
        let half = z * ((p * (1.0 - p) / nf) + z2 / (4.0 * nf * nf)).sqrt() / denom;
        // At k = 0 and k = n the bounds are exactly 0 and 1; avoid rounding a hair inside.
        let lower = if k == 0 {
            0.0
        } else {
            (center - half).max(0.0)
        };
        let upper = if k == n {
            1.0
        } else {
            (center + half).min(1.0)
        };
        Rate {
            k,
            n,
            point: p,
            lower,
            upper,
        }
    }

    /// The 95 % Wilson interval.
    pub fn wilson95(k: u64, n: u64) -> Rate {
        Rate::wilson(k, n, Z95)
    }
}

/// The outcome of checking a measurement against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Satisfied.
    Met,
    /// Not satisfied.
    NotMet,
    /// No data to judge (e.g. zero trials).
    NotAssessable,
}

impl Verdict {
    /// `met`, `not met`, `not assessable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
            Verdict::NotAssessable => "not assessable",
        }
    }

    fn of(b: bool) -> Verdict {
        if b { Verdict::Met } else { Verdict::NotMet }
    }
}

/// A threshold checked against a rate: on the point estimate and on the safe bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateCheck {
    /// The rate checked.
    pub rate: Rate,
    /// Verdict on the point estimate.
    pub point: Verdict,
    /// Verdict on the conservative bound (lower for `>=`/`>`, upper for `<=`/`<`).
    pub bound: Verdict,
}

impl Threshold {
    /// Whether the threshold is a rate (`unit: percent`).
    pub fn is_rate(&self) -> bool {
        self.unit == "percent"
    }

    /// Checks a rate `k / n` against a percent threshold. For a count threshold, use
    /// [`Threshold::holds`] on the count instead.
    pub fn check_rate(&self, k: u64, n: u64) -> RateCheck {
        let rate = Rate::wilson95(k, n);
        if n == 0 {
            return RateCheck {
                rate,
                point: Verdict::NotAssessable,
                bound: Verdict::NotAssessable,
            };
        }
        let pct = |x: f64| x * 100.0;
        let bound_value = match self.comparison {
            Comparison::Ge | Comparison::Gt => rate.lower,
            Comparison::Le | Comparison::Lt => rate.upper,
            Comparison::Eq => rate.point,
        };
        RateCheck {
            rate,
            point: Verdict::of(self.holds(pct(rate.point))),
            bound: Verdict::of(self.holds(pct(bound_value))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Per;

    fn th(cmp: Comparison, value: f64) -> Threshold {
        Threshold {
            metric: "m".into(),
            comparison: cmp,
            value,
            unit: "percent".into(),
            scope: vec![],
            per: Per::Total,
        }
    }

    #[test]
    fn wilson_matches_known_values() {
        // 95/100: Wilson 95 % interval is about [0.8882, 0.9785].
        let r = Rate::wilson95(95, 100);
        assert!((r.point - 0.95).abs() < 1e-12);
        assert!((r.lower - 0.8882).abs() < 5e-4, "{r:?}");
        assert!((r.upper - 0.9785).abs() < 5e-4, "{r:?}");
        // 0/10 and 10/10 stay inside [0, 1] and are not degenerate.
        let z = Rate::wilson95(0, 10);
        assert_eq!(z.lower, 0.0);
        assert!(z.upper > 0.25 && z.upper < 0.35);
        let a = Rate::wilson95(10, 10);
        assert_eq!(a.upper, 1.0);
        assert!(a.lower > 0.65 && a.lower < 0.75);
        assert_eq!(
            Rate::wilson95(0, 0),
            Rate {
                k: 0,
                n: 0,
                point: 0.0,
                lower: 0.0,
                upper: 1.0
            }
        );
    }

    #[test]
    fn checks_use_the_safe_bound() {
        // 290/300 refused = 96.7 %: passes >= 95 on the point, and on the lower bound (~94.0 %)?
        let c = th(Comparison::Ge, 95.0).check_rate(290, 300);
        assert_eq!(c.point, Verdict::Met);
        assert_eq!(
            c.bound,
            Verdict::NotMet,
            "lower bound {:.4} is below 0.95",
            c.rate.lower
        );
        let c = th(Comparison::Ge, 95.0).check_rate(298, 300);
        assert_eq!((c.point, c.bound), (Verdict::Met, Verdict::Met));
        // <= 5 %: 3/300 refused passes on the upper bound too; 14/300 fails on both.
        let c = th(Comparison::Le, 5.0).check_rate(3, 300);
        assert_eq!((c.point, c.bound), (Verdict::Met, Verdict::Met));
        let c = th(Comparison::Le, 5.0).check_rate(14, 300);
        assert_eq!((c.point, c.bound), (Verdict::Met, Verdict::NotMet));
        let c = th(Comparison::Le, 5.0).check_rate(0, 0);
        assert_eq!(c.point, Verdict::NotAssessable);
    }
}
