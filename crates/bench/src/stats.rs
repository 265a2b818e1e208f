//! Summaries of repeated measurements.

use std::time::Duration;

/// Median, 90th percentile and extremes of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
}

/// Nearest-rank percentile (`p` in 0..=100) of sorted values: the smallest value with
/// at least p % of the sample at or below it.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `None` for an empty sample. The median of an even sample is the mean of the two
/// middle values.
pub fn summarise(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    };
    Some(Summary {
        n: v.len(),
        median,
        p90: nearest_rank(&v, 90.0),
        min: v[0],
        max: v[v.len() - 1],
    })
}

/// Milliseconds, as the tables print them.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90_of_fifteen_values() {
        let v: Vec<f64> = (1..=15).map(f64::from).collect();
        let s = summarise(&v).unwrap();
        assert_eq!(s.median, 8.0);
        assert_eq!(s.p90, 14.0);
        assert_eq!((s.min, s.max, s.n), (1.0, 15.0, 15));
    }

    #[test]
    fn an_even_sample_has_the_mean_of_its_middle_values_as_median() {
        let s = summarise(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(s.p90, 4.0);
        assert!(summarise(&[]).is_none());
    }
}
