//! Topic tagging from keyword lists: a document belongs to a topic when it contains every
//! term of at least one of the topic's keywords (so `machine learning` needs both words).

use crate::error::{Error, Result};
use crate::text::Analyzer;

/// At most this many topics (a document's topics travel as a `u64` bit mask).
pub const MAX_TOPICS: usize = 64;

/// The seed's four topics and their keywords.
pub fn default_topics() -> Vec<(String, Vec<String>)> {
    let t = |name: &str, words: &[&str]| {
        (name.to_string(), words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    };
    vec![
        t("programming", &["python", "code", "programming"]),
        t("ai_ml", &["machine learning", "ai", "model"]),
        t("database", &["database", "sql", "data"]),
        t("web", &["web", "http", "api"]),
    ]
}

/// Topic names, their keywords as written, and the keywords analyzed into terms.
#[derive(Clone, Debug, Default)]
pub struct Topics {
    /// `(topic name, keywords)` as configured.
    pub config: Vec<(String, Vec<String>)>,
    /// For each keyword (flattened over topics): its topic and its distinct terms.
    pub keywords: Vec<(usize, Vec<String>)>,
}

impl Topics {
    /// Analyzes the keyword lists; names must be unique and non-empty, keywords must keep at
    /// least one term after analysis.
    pub fn new(config: Vec<(String, Vec<String>)>, analyzer: &Analyzer) -> Result<Self> {
        if config.len() > MAX_TOPICS {
            return Err(Error::invalid(format!(
                "topics: at most {MAX_TOPICS} topics, got {}",
                config.len()
            )));
        }
        let mut keywords = Vec::new();
        for (i, (name, words)) in config.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::invalid("topics: topic names must not be empty"));
            }
            if config[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::invalid(format!("topics: topic {name:?} appears twice")));
            }
            for w in words {
                let mut terms = analyzer.terms(w);
                terms.sort();
                terms.dedup();
                if terms.is_empty() {
                    return Err(Error::invalid(format!(
                        "topics: keyword {w:?} of topic {name:?} has no indexable term \
                         (empty, punctuation or only stop words)"
                    )));
                }
                keywords.push((i, terms));
            }
        }
        Ok(Topics { config, keywords })
    }

    /// The position of topic `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.config.iter().position(|(n, _)| n == name)
    }

    /// For one term, the keywords it belongs to (indexes into `keywords`).
    pub fn keywords_of(&self, term: &str) -> Vec<u16> {
        self.keywords
            .iter()
            .enumerate()
            .filter(|(_, (_, terms))| terms.iter().any(|t| t == term))
            .map(|(k, _)| k as u16)
            .collect()
    }

    /// The topic mask of a document given, for each of its distinct terms, that term's
    /// keywords (from [`Topics::keywords_of`]).
    pub fn mask<'a>(&self, term_keywords: impl Iterator<Item = &'a [u16]>) -> u64 {
        let mut hits: Vec<(u16, u16)> = Vec::new();
        for kws in term_keywords {
            for &k in kws {
                match hits.iter_mut().find(|(kk, _)| *kk == k) {
                    Some((_, n)) => *n += 1,
                    None => hits.push((k, 1)),
                }
            }
        }
        let mut mask = 0u64;
        for (k, n) in hits {
            let (topic, terms) = &self.keywords[k as usize];
            if n as usize == terms.len() {
                mask |= 1 << topic;
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_word_keywords_need_every_word() {
        let a = Analyzer::default();
        let t = Topics::new(default_topics(), &a).unwrap();
        let mask_of = |text: &str| {
            let mut terms = a.terms(text);
            terms.sort();
            terms.dedup();
            let per: Vec<Vec<u16>> = terms.iter().map(|x| t.keywords_of(x)).collect();
            t.mask(per.iter().map(|v| v.as_slice()))
        };
        assert_eq!(mask_of("I love machine learning models"), 0b10);
        assert_eq!(mask_of("the machine is learning"), 0b10);
        assert_eq!(mask_of("a learning machine"), 0b10);
        assert_eq!(mask_of("a sewing machine"), 0);
        assert_eq!(mask_of("Python code over HTTP with SQL"), 0b1101);
        assert!(Topics::new(vec![("x".into(), vec!["the".into()])], &a).is_err());
        assert!(Topics::new(vec![("x".into(), vec![]), ("x".into(), vec![])], &a).is_err());
    }
}
