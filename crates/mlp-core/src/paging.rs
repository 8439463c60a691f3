//! Opaque page tokens. Like MLflow, a token is base64 of a small JSON object; unlike MLflow, it
//! also carries a fingerprint of the query so a token cannot be replayed against another search.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Serialize, Deserialize)]
struct Token {
    offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<u64>,
}

/// A stable, non-cryptographic fingerprint of the query that produced a page (FNV-1a).
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.as_bytes().iter().chain(std::iter::once(&0xffu8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

pub fn encode(offset: u64, query: u64) -> String {
    let json = serde_json::to_vec(&Token { offset, q: Some(query) }).expect("token serialises");
    STANDARD.encode(json)
}

/// Decodes a page token into an offset; `None` and `""` mean the first page.
pub fn decode(token: Option<&str>, query: u64) -> Result<u64> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bad = || Error::invalid(format!("Invalid page token '{token}'"));
    let bytes = STANDARD.decode(token.trim()).map_err(|_| bad())?;
    let t: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if let Some(q) = t.q
        && q != query
    {
        return Err(Error::invalid(
            "The page token does not belong to this search: it was issued for other parameters",
        ));
    }
    // Offsets become SQL integers and get a page size added: anything past i64 is no real page.
    if t.offset > i64::MAX as u64 {
        return Err(bad());
    }
    Ok(t.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let q = fingerprint(&["a", "b"]);
        assert_eq!(decode(Some(&encode(42, q)), q).unwrap(), 42);
        assert_eq!(decode(None, q).unwrap(), 0);
        assert_eq!(decode(Some(""), q).unwrap(), 0);
    }

    #[test]
    fn garbage_and_foreign_tokens_are_refused() {
        let q = fingerprint(&["a"]);
        assert!(decode(Some("not base64!"), q).is_err());
        let other = encode(1, fingerprint(&["b"]));
        assert_eq!(
            decode(Some(&other), q).unwrap_err().code,
            crate::ErrorCode::InvalidParameterValue
        );
        // MLflow's own format (no fingerprint) is accepted.
        assert_eq!(decode(Some("eyJvZmZzZXQiOiAyfQ=="), q).unwrap(), 2);
        // An offset no query can reach is refused rather than overflowing later.
        assert!(decode(Some(&encode(u64::MAX, q)), q).is_err());
        assert_eq!(decode(Some(&encode(i64::MAX as u64, q)), q).unwrap(), i64::MAX as u64);
    }

    #[test]
    fn fingerprint_separates_parts() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
