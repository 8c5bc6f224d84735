//! Exact discrete Laplace noise from OpenDP.
//!
//! Each released measure (a vector of integer counts or sums over the grid) goes through
//! one OpenDP measurement: `make_laplace` over `VectorDomain<AtomDomain<i64>>` with the
//! `L1Distance<i64>` metric. The noise is sampled exactly on the integers (no floating
//! point in the sampler, so none of the floating-point Laplace attacks apply), and the ε
//! the release costs is what the measurement's privacy map says for the measure's L1
//! sensitivity, never a figure computed here.

use crate::epsilon::Epsilon;
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::make_laplace;
use opendp::measures::MaxDivergence;
use opendp::metrics::L1Distance;
use serde::{Deserialize, Serialize};

type Counts = VectorDomain<AtomDomain<i64>>;
type CountsMeasurement = opendp::core::Measurement<Counts, L1Distance<i64>, MaxDivergence, Vec<i64>>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoiseError {
    #[error("sensitivity must be positive, not {0}")]
    Sensitivity(i64),
    #[error("ε must be positive")]
    ZeroEpsilon,
    #[error("the noise library refused: {0}")]
    Library(String),
}

impl From<opendp::error::Error> for NoiseError {
    fn from(e: opendp::error::Error) -> Self {
        NoiseError::Library(e.to_string())
    }
}

/// What an analyst needs to read a noisy figure: the Laplace scale `b`, the standard
/// deviation (≈ b·√2) and the half-width of a 95 % interval (b·ln 20: the noise exceeds
/// it in absolute value with probability ≤ 5 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseScale {
    pub scale: f64,
    pub std_dev: f64,
    pub ci95: f64,
}

impl NoiseScale {
    fn of(scale: f64) -> NoiseScale {
        NoiseScale { scale, std_dev: scale * std::f64::consts::SQRT_2, ci95: scale * 20f64.ln() }
    }
}

/// A discrete Laplace mechanism calibrated so that a vector whose L1 sensitivity is
/// `sensitivity` is released at a loss of at most `target` ε.
pub struct LaplaceVector {
    measurement: CountsMeasurement,
    sensitivity: i64,
    scale: f64,
    epsilon: Epsilon,
}

impl LaplaceVector {
    pub fn calibrate(sensitivity: i64, target: Epsilon) -> Result<LaplaceVector, NoiseError> {
        if sensitivity <= 0 {
            return Err(NoiseError::Sensitivity(sensitivity));
        }
        if target == Epsilon::ZERO {
            return Err(NoiseError::ZeroEpsilon);
        }
        // `sensitivity / ε` in floating point may come out a hair small, making the privacy
        // map report a hair more than the target; widen the scale until it does not.
        let mut scale = sensitivity as f64 / target.as_f64();
        for _ in 0..8 {
            let measurement =
                make_laplace(Counts::new(AtomDomain::default()), L1Distance::<i64>::default(), scale, None)?;
            let epsilon = Epsilon::from_f64_ceil(measurement.map(&sensitivity)?)
                .map_err(|e| NoiseError::Library(e.to_string()))?;
            if epsilon <= target {
                return Ok(LaplaceVector { measurement, sensitivity, scale, epsilon });
            }
            scale *= 1.0 + 1e-9;
        }
        Err(NoiseError::Library(format!("cannot calibrate sensitivity {sensitivity} to ε {target}")))
    }

    /// The privacy loss of one release, from OpenDP's privacy map, rounded up to micro-ε.
    pub fn epsilon(&self) -> Epsilon {
        self.epsilon
    }

    pub fn sensitivity(&self) -> i64 {
        self.sensitivity
    }

    pub fn scale(&self) -> NoiseScale {
        NoiseScale::of(self.scale)
    }

    /// Adds independent noise to every entry. Sums far beyond i64 saturate (OpenDP's
    /// saturating cast), which is post-processing and costs nothing.
    pub fn release(&self, exact: &[i64]) -> Result<Vec<i64>, NoiseError> {
        Ok(self.measurement.invoke(&exact.to_vec())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variance of the discrete Laplace distribution with scale `b`:
    /// 2q / (1 − q)² with q = e^(−1/b) (close to 2b² for large b).
    fn discrete_laplace_variance(b: f64) -> f64 {
        let q = (-1.0 / b).exp();
        2.0 * q / (1.0 - q).powi(2)
    }

    #[test]
    fn the_spent_epsilon_is_the_privacy_map_of_the_sensitivity() {
        let m = LaplaceVector::calibrate(1, Epsilon::from_micros(100_000)).unwrap();
        assert_eq!(m.epsilon(), Epsilon::from_micros(100_000));
        assert!((m.scale().scale - 10.0).abs() < 1e-9);
        let m = LaplaceVector::calibrate(3, Epsilon::from_micros(250_000)).unwrap();
        assert_eq!(m.epsilon(), Epsilon::from_micros(250_000));
        assert!((m.scale().scale - 12.0).abs() < 1e-9);
        assert!(LaplaceVector::calibrate(0, Epsilon::from_micros(1)).is_err());
        assert!(LaplaceVector::calibrate(1, Epsilon::ZERO).is_err());
    }

    #[test]
    fn noise_is_centred_with_the_stated_spread() {
        // Fixed input, many independent draws: the empirical mean and variance must match
        // the discrete Laplace distribution's. With n = 40 000 and b = 10 the standard
        // error of the mean is √(200/n) ≈ 0.07, so ±0.4 is over five standard errors.
        let b = 10.0;
        let m = LaplaceVector::calibrate(1, Epsilon::from_micros(100_000)).unwrap();
        let n = 40_000;
        let exact = vec![500i64; n];
        let noisy = m.release(&exact).unwrap();
        let errors: Vec<f64> = noisy.iter().zip(&exact).map(|(y, x)| (y - x) as f64).collect();
        let mean = errors.iter().sum::<f64>() / n as f64;
        let var = errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(mean.abs() < 0.4, "mean error {mean}");
        let want = discrete_laplace_variance(b);
        assert!((var / want - 1.0).abs() < 0.08, "variance {var}, expected {want}");
        // The stated 95 % half-width holds: at most 5 % of the draws fall outside it
        // (with slack for sampling error).
        let outside = errors.iter().filter(|e| e.abs() > m.scale().ci95).count() as f64 / n as f64;
        assert!(outside < 0.06, "{outside} of the draws fall outside the 95 % interval");
        // Every draw is an integer offset and the noise is really there.
        assert!(noisy.iter().any(|y| *y != 500));
    }

    #[test]
    fn the_noise_is_symmetric() {
        let m = LaplaceVector::calibrate(1, Epsilon::from_micros(500_000)).unwrap();
        let noisy = m.release(&vec![0i64; 40_000]).unwrap();
        let above = noisy.iter().filter(|y| **y > 0).count() as f64;
        let below = noisy.iter().filter(|y| **y < 0).count() as f64;
        assert!((above / below - 1.0).abs() < 0.05, "{above} above, {below} below");
    }
}
