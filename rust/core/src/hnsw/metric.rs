//! The distance metrics an index can use.

use crate::error::{Error, Result};

/// How two vectors are compared; smaller distances are nearer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `1 - cos(a, b)`; vectors are L2-normalised on the way in.
    Cosine,
    /// `1 - a.b` (as hnswlib's `ip`).
    InnerProduct,
    /// Squared Euclidean distance (as hnswlib's `l2`).
    L2,
}

impl Metric {
    /// Parses `"cosine"`, `"ip"` or `"l2"` (the names hnswlib uses).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cosine" => Ok(Metric::Cosine),
            "ip" | "inner_product" | "dot" => Ok(Metric::InnerProduct),
            "l2" | "euclidean" => Ok(Metric::L2),
            _ => {
                Err(Error::invalid(format!("metric must be 'cosine', 'ip' or 'l2', got {name:?}")))
            }
        }
    }

    /// The canonical name of the metric.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::InnerProduct => "ip",
            Metric::L2 => "l2",
        }
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            Metric::Cosine => 0,
            Metric::InnerProduct => 1,
            Metric::L2 => 2,
        }
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Metric::Cosine),
            1 => Some(Metric::InnerProduct),
            2 => Some(Metric::L2),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_parse_and_unknown_is_named() {
        assert_eq!(Metric::parse("cosine").unwrap(), Metric::Cosine);
        assert_eq!(Metric::parse("ip").unwrap().name(), "ip");
        let err = Metric::parse("hamming").unwrap_err().to_string();
        assert!(err.contains("metric"), "{err}");
    }
}
