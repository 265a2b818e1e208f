//! JSON read strictly: every key given twice in one object is found, not silently
//! resolved. serde_json keeps the last; other parsers (the DSAR tool's, say) keep the
//! first, so such a ticket means different things to different readers: two ids, two
//! sign-offs, two subjects. Every entry point (webhook, Intake, CLI) reads tickets
//! through [`CheckedJson`] and refuses one with [`CheckedJson::duplicate_key_errors`].

use std::cell::RefCell;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::ticket::{MAX_ERRORS, join, safe_key};

/// A JSON value and the path of every key that was given more than once in it (the
/// value keeps the last, as serde_json does; a reader must refuse it when any is
/// listed). Serialises as the value alone, so it can stand where a `Value` stood in a
/// step's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedJson {
    pub value: Value,
    /// Paths in the ticket's error-path spelling (unknown keys as `<unknown>`).
    pub duplicates: Vec<String>,
}

impl CheckedJson {
    /// Reads `bytes` as one JSON document. The error is serde_json's: use only its
    /// line and column (its message can quote the input).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let checked = Self::deserialize(&mut de)?;
        de.end()?;
        Ok(checked)
    }

    /// The refusal every entry point gives: one `duplicate-key` error per path.
    pub fn duplicate_key_errors(&self) -> Vec<FieldError> {
        self.duplicates
            .iter()
            .take(MAX_ERRORS)
            .map(|path| {
                FieldError::new(
                    path.clone(),
                    "duplicate-key",
                    "is given more than once in the same object: which one was meant is unclear",
                )
            })
            .collect()
    }
}

impl From<Value> for CheckedJson {
    /// A value already parsed (by a caller that checked it, or a test): nothing to find.
    fn from(value: Value) -> Self {
        Self {
            value,
            duplicates: Vec::new(),
        }
    }
}

impl<'de> Deserialize<'de> for CheckedJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let duplicates = RefCell::new(Vec::new());
        let value = DuplicateCheck {
            path: "$".to_owned(),
            duplicates: &duplicates,
        }
        .deserialize(d)?;
        Ok(Self {
            value,
            duplicates: duplicates.into_inner(),
        })
    }
}

impl Serialize for CheckedJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

/// Reads a JSON value as `serde_json::Value` does, and records the path of every key
/// given twice in one object.
struct DuplicateCheck<'a> {
    path: String,
    duplicates: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for DuplicateCheck<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // serde_json's depth limit (128) still applies: it is enforced by the
        // deserializer, whatever the visitor.
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DuplicateCheck<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let item = DuplicateCheck {
                path: format!("{}[{}]", self.path, items.len()),
                duplicates: self.duplicates,
            };
            match seq.next_element_seed(item)? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let path = join(&self.path, safe_key(&key));
            let value = access.next_value_seed(DuplicateCheck {
                path: path.clone(),
                duplicates: self.duplicates,
            })?;
            if map.insert(key, value).is_some() {
                self.duplicates.borrow_mut().push(path);
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_every_duplicated_key_at_any_depth_without_quoting_it() {
        let c = CheckedJson::from_slice(
            br#"{"subject": {"name": "a", "jane": 1, "jane": 2}, "subject": {}, "x": [{"id": 1, "id": 2}]}"#,
        )
        .unwrap();
        assert_eq!(
            c.duplicates,
            ["subject.<unknown>", "subject", "<unknown>[0].id"]
        );
        assert_eq!(c.duplicate_key_errors()[0].code, "duplicate-key");
    }

    #[test]
    fn a_clean_document_is_the_value_serde_json_reads() {
        let text = br#"{"ticket": {"id": "T-1"}, "n": [1, 2.5, null, true]}"#;
        let c = CheckedJson::from_slice(text).unwrap();
        assert!(c.duplicates.is_empty());
        assert_eq!(c.value, serde_json::from_slice::<Value>(text).unwrap());
        assert_eq!(serde_json::to_value(&c).unwrap(), c.value);
    }

    #[test]
    fn nested_in_a_struct_it_still_sees_the_raw_document() {
        #[derive(Deserialize)]
        struct Input {
            input: CheckedJson,
        }
        let i: Input = serde_json::from_str(r#"{"input": {"a": 1, "a": 2}}"#).unwrap();
        assert_eq!(i.input.duplicates, ["<unknown>"]);
        assert_eq!(i.input.value, json!({"a": 2}));
    }

    #[test]
    fn trailing_text_is_not_json() {
        assert!(CheckedJson::from_slice(b"{} {}").is_err());
    }
}
