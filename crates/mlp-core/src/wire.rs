//! Serde helpers for MLflow's protobuf-JSON conventions: int64 as a number or a string, doubles
//! with NaN and infinities as strings, repeated fields that arrive as a single query value, and
//! booleans from query strings.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// Serialises a double the way protobuf JSON does: NaN and infinities as strings.
pub fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

fn parse_f64_str(v: &str) -> Option<f64> {
    match v.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

struct LenientF64;
impl<'de> Visitor<'de> for LenientF64 {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, or one of \"NaN\", \"Infinity\", \"-Infinity\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_f64_str(v)
            .map(Some)
            .ok_or_else(|| E::custom(format!("'{v}' is not a number")))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LenientF64)
    }
}

pub fn de_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(LenientF64)
}

struct LenientI64;
impl<'de> Visitor<'de> for LenientI64 {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, as a number or a string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::custom(format!("{v} is out of range for int64")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.is_finite() && v.abs() < 9.2e18 {
            Ok(Some(v as i64))
        } else {
            Err(E::custom(format!("{v} is not an integer")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.trim()
            .parse()
            .map(Some)
            .map_err(|_| E::custom(format!("'{v}' is not an integer")))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LenientI64)
    }
}

pub fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(LenientI64)
}

struct LenientBool;
impl<'de> Visitor<'de> for LenientBool {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(E::custom(format!("'{v}' is not a boolean"))),
        }
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LenientBool)
    }
}

pub fn de_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(LenientBool)
}

/// A repeated field: a JSON array, or one scalar (how a GET query string carries a single value).
pub fn de_vec_or_one<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
        Null(()),
    }
    Ok(match OneOrMany::<T>::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(v) => vec![v],
        OneOrMany::Null(()) => Vec::new(),
    })
}

/// A string field. Like protobuf's JSON parser, a number or a boolean is refused rather than
/// coerced.
pub fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => {
            return Err(de::Error::custom(format!("expected a string, got {other}")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "de_opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "de_opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "de_vec_or_one")]
        v: Vec<String>,
        #[serde(default, deserialize_with = "de_opt_bool")]
        b: Option<bool>,
    }

    #[test]
    fn int64_as_number_or_string() {
        let t: T = serde_json::from_str(r#"{"i":"1700000000000"}"#).unwrap();
        assert_eq!(t.i, Some(1_700_000_000_000));
        let t: T = serde_json::from_str(r#"{"i":17}"#).unwrap();
        assert_eq!(t.i, Some(17));
        assert!(serde_json::from_str::<T>(r#"{"i":"abc"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"i":1.5}"#).is_err());
    }

    #[test]
    fn doubles_accept_nan_and_infinities_as_strings() {
        let t: T = serde_json::from_str(r#"{"f":"NaN"}"#).unwrap();
        assert!(t.f.unwrap().is_nan());
        let t: T = serde_json::from_str(r#"{"f":"-Infinity"}"#).unwrap();
        assert_eq!(t.f, Some(f64::NEG_INFINITY));
        let t: T = serde_json::from_str(r#"{"f":"2.5"}"#).unwrap();
        assert_eq!(t.f, Some(2.5));
        assert!(serde_json::from_str::<T>(r#"{"f":"abc"}"#).is_err());
    }

    #[test]
    fn repeated_fields_accept_one_value() {
        let t: T = serde_json::from_str(r#"{"v":"a"}"#).unwrap();
        assert_eq!(t.v, vec!["a"]);
        let t: T = serde_json::from_str(r#"{"v":["a","b"]}"#).unwrap();
        assert_eq!(t.v, vec!["a", "b"]);
        let t: T = serde_json::from_str(r#"{"b":"true"}"#).unwrap();
        assert_eq!(t.b, Some(true));
    }

    #[test]
    fn nan_serialises_as_string() {
        #[derive(serde::Serialize)]
        struct S {
            #[serde(serialize_with = "ser_f64")]
            x: f64,
        }
        assert_eq!(serde_json::to_string(&S { x: f64::NAN }).unwrap(), r#"{"x":"NaN"}"#);
        assert_eq!(
            serde_json::to_string(&S { x: f64::INFINITY }).unwrap(),
            r#"{"x":"Infinity"}"#
        );
        assert_eq!(serde_json::to_string(&S { x: 1.5 }).unwrap(), r#"{"x":1.5}"#);
    }
}

/// Decodes a request body straight into its typed message, as MLflow's server reads one: an
/// empty or malformed body reads as `{}` (so the caller gets MLflow's "missing parameter" error
/// rather than a parse error), JSON that is not an object is refused. Decoding into the typed
/// message directly, never through a `serde_json::Value`, keeps the memory of a request within a
/// small multiple of its body.
pub fn decode_json_body<T: de::DeserializeOwned>(body: &[u8]) -> Result<T, crate::Error> {
    let invalid = |e: serde_json::Error| crate::Error::invalid(format!("Invalid request: {e}"));
    let empty = || serde_json::from_slice::<T>(b"{}").map_err(invalid);
    // JSON is UTF-8; checked once up front because serde skips unknown fields without looking
    // at their bytes, and a body is malformed whichever field holds the bad byte.
    if std::str::from_utf8(body).is_err() {
        return empty();
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => empty(),
        Some(b'{') => match serde_json::from_slice::<T>(body) {
            Ok(v) => Ok(v),
            Err(e) if e.is_syntax() || e.is_eof() => empty(),
            // A bad field found before the syntax error further on: the body is still malformed
            // as a whole, and reads as `{}` (checked only on this error path).
            Err(_) if serde_json::from_slice::<de::IgnoredAny>(body).is_err() => empty(),
            Err(e) => Err(invalid(e)),
        },
        Some(_) => match serde_json::from_slice::<de::IgnoredAny>(body) {
            // Valid JSON that is not an object cannot be a request message.
            Ok(_) => Err(crate::Error::invalid(format!(
                "Invalid request body: expected a JSON object, got {}",
                match body.iter().find(|b| !b.is_ascii_whitespace()) {
                    Some(b'[') => "an array",
                    Some(b'n') => "null",
                    Some(b'"') => "a string",
                    Some(b't' | b'f') => "a boolean",
                    _ => "a number",
                }
            ))),
            Err(_) => empty(),
        },
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Msg {
        #[serde(deserialize_with = "de_opt_string")]
        name: Option<String>,
        #[serde(deserialize_with = "de_opt_f64")]
        value: Option<f64>,
    }

    #[test]
    fn empty_and_malformed_read_as_empty() {
        for body in [
            &b""[..],
            b"   ",
            b"{",
            b"{\"name\": ",
            b"not json",
            b"{\"name\": \"x\",}",
            // A field of the wrong type, then a syntax error: malformed as a whole.
            b"{\"name\": 5, \"x}",
            b"{\"name\": \"x\", \"other\": \"\xff\"}",
        ] {
            assert_eq!(decode_json_body::<Msg>(body).unwrap(), Msg::default(), "{body:?}");
        }
    }

    #[test]
    fn non_objects_are_refused() {
        for (body, what) in [
            ("[1]", "an array"),
            ("null", "null"),
            ("\"s\"", "a string"),
            ("1", "a number"),
            ("true", "a boolean"),
        ] {
            let e = decode_json_body::<Msg>(body.as_bytes()).unwrap_err();
            assert!(e.message.contains(what), "{body}: {}", e.message);
        }
    }

    #[test]
    fn typed_errors_are_reported() {
        let e = decode_json_body::<Msg>(br#"{"name": 5}"#).unwrap_err();
        assert!(e.message.starts_with("Invalid request"), "{}", e.message);
    }

    #[test]
    fn doubles_round_trip_exactly() {
        // Values a fast but not correctly rounded parser gets wrong by one ULP.
        for v in [
            90.28571428571429_f64,
            0.1 + 0.2,
            1.0 / 7.0 * 632.0,
            f64::MIN_POSITIVE / 3.0,
            1.7976931348623157e308,
        ] {
            let body = format!("{{\"value\": {}}}", serde_json::to_string(&v).unwrap());
            let m: Msg = decode_json_body(body.as_bytes()).unwrap();
            assert_eq!(m.value.unwrap().to_bits(), v.to_bits(), "{body}");
        }
    }
}
