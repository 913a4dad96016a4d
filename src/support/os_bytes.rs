//! Paths and environment values as the bytes they are, in JSON.
//!
//! A Unix path need not be UTF-8, and JSON strings must be: a value that is
//! UTF-8 is written as a plain string (so files written before stay
//! readable), anything else as `{"bytes": [..]}`. Nothing is ever made
//! lossy on the way.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One value: a string when it is UTF-8, else its bytes.
enum Repr {
    Text(String),
    Bytes(Vec<u8>),
}

impl Repr {
    fn of(bytes: &[u8]) -> Repr {
        match std::str::from_utf8(bytes) {
            Ok(text) => Repr::Text(text.to_owned()),
            Err(_) => Repr::Bytes(bytes.to_vec()),
        }
    }

    fn into_os(self) -> OsString {
        match self {
            Repr::Text(text) => OsString::from(text),
            Repr::Bytes(bytes) => OsString::from_vec(bytes),
        }
    }
}

impl Serialize for Repr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Repr::Text(text) => s.serialize_str(text),
            Repr::Bytes(bytes) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("bytes", bytes)?;
                map.end()
            }
        }
    }
}

/// Read directly (not as an untagged enum, which buffers every value): the
/// warm path reads these.
impl<'de> Deserialize<'de> for Repr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Repr, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Repr;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or {\"bytes\": [...]}")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Repr, E> {
                Ok(Repr::Text(text.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Repr, E> {
                Ok(Repr::Text(text))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Repr, A::Error> {
                let mut bytes = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "bytes" {
                        bytes = Some(map.next_value::<Vec<u8>>()?);
                    } else {
                        return Err(serde::de::Error::unknown_field(&key, &["bytes"]));
                    }
                }
                bytes
                    .map(Repr::Bytes)
                    .ok_or_else(|| serde::de::Error::missing_field("bytes"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A path as a JSON value (for `--json` output): a string when it is
/// UTF-8, else `{"bytes": [..]}`.
pub(crate) fn json_value(path: &std::path::Path) -> serde_json::Value {
    serde_json::to_value(Repr::of(path.as_os_str().as_bytes()))
        .expect("strings and bytes serialise")
}

/// `#[serde(with = "os_bytes::path")]` for a `PathBuf`.
pub(crate) mod path {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        path: &std::path::Path,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        Repr::of(path.as_os_str().as_bytes()).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(PathBuf::from(Repr::deserialize(d)?.into_os()))
    }
}

/// `#[serde(with = "os_bytes::pairs")]` for `Vec<(String, OsString)>`
/// (variables whose values may be any bytes).
pub(crate) mod pairs {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        pairs: &[(String, OsString)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let reprs: Vec<(&str, Repr)> = pairs
            .iter()
            .map(|(name, value)| (name.as_str(), Repr::of(value.as_bytes())))
            .collect();
        reprs.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, OsString)>, D::Error> {
        let reprs: Vec<(String, Repr)> = Vec::deserialize(d)?;
        Ok(reprs
            .into_iter()
            .map(|(name, value)| (name, value.into_os()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "path")]
        path: PathBuf,
        #[serde(with = "pairs")]
        vars: Vec<(String, OsString)>,
    }

    #[test]
    fn utf8_stays_a_string_and_other_bytes_survive() {
        let plain = Holder {
            path: PathBuf::from("/p/café"),
            vars: vec![("A".into(), "x".into())],
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(text, r#"{"path":"/p/café","vars":[["A","x"]]}"#);
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), plain);

        let raw = Holder {
            path: PathBuf::from(OsString::from_vec(b"/p/caf\xe9".to_vec())),
            vars: vec![("A".into(), OsString::from_vec(vec![0xff]))],
        };
        let text = serde_json::to_string(&raw).unwrap();
        assert!(
            text.contains(r#""bytes":[47,112,47,99,97,102,233]"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), raw);
    }
}
