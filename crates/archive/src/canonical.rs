//! RFC 8785 JSON Canonicalization Scheme (JCS) and the record digest.
//!
//! The archive stores exactly these bytes, so anyone can recompute a record's digest:
//! `sha256sum` over the stored object, or re-canonicalise the parsed JSON with any JCS
//! implementation (see docs/archive.md).

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::error::ArchiveError;

/// Largest integer I-JSON (RFC 7493) can carry without loss: JCS numbers are IEEE-754
/// doubles, so a larger integer would silently change value when canonicalised.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The canonical (JCS) serialisation of `value`.
///
/// Refuses integers beyond ±(2^53 - 1): JCS would round them, and a record must not
/// say something other than what its writer meant.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, ArchiveError> {
    let mut out = Vec::with_capacity(1024);
    write_value(value, &mut out, &mut String::from("$"))?;
    Ok(out)
}

/// `sha256:<lowercase hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Base64 of the raw SHA-256 of `bytes`: the form of S3's `ChecksumSHA256`.
pub fn checksum_sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn write_value(value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<(), ArchiveError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out, path)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out, path)?,
    }
    Ok(())
}

fn write_object(
    map: &Map<String, Value>,
    out: &mut Vec<u8>,
    path: &mut String,
) -> Result<(), ArchiveError> {
    // JCS sorts member names by their UTF-16 code units, which differs from Rust's
    // byte order for characters above U+FFFF.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push(b'{');
    for (i, (name, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        let len = path.len();
        path.push('.');
        path.push_str(name);
        write_value(value, out, path)?;
        path.truncate(len);
    }
    out.push(b'}');
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0C}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>, path: &str) -> Result<(), ArchiveError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(unsafe_integer(path));
        }
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(unsafe_integer(path));
        }
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        out.extend_from_slice(es6_number(f).as_bytes());
    } else {
        return Err(ArchiveError::invalid(format!(
            "{path}: number cannot be represented as an IEEE-754 double"
        )));
    }
    Ok(())
}

fn unsafe_integer(path: &str) -> ArchiveError {
    ArchiveError::invalid(format!(
        "{path}: integer outside ±(2^53 - 1) cannot be canonicalised without loss (RFC 8785 §3.2.2.3)"
    ))
}

/// ECMAScript `Number.prototype.toString` for a finite double, as RFC 8785 requires.
///
/// Rust's `{:e}` gives the shortest digits that round-trip, which is the digit string
/// ECMAScript uses; only the placement of the decimal point and exponent differs.
fn es6_number(f: f64) -> String {
    if f == 0.0 {
        return "0".to_owned(); // also -0
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1; // position of the decimal point relative to the digits
    let mut s = String::new();
    if f < 0.0 {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if n > 0 { '+' } else { '-' });
        s.push_str(&(n - 1).abs().to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(canonicalize(v).expect("canonicalisable")).expect("utf-8")
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v: Value = serde_json::from_str(r#"{ "b": [1, 2, {"z": null, "a": true}], "a": "x" }"#)
            .expect("json");
        assert_eq!(canon(&v), r#"{"a":"x","b":[1,2,{"a":true,"z":null}]}"#);
    }

    #[test]
    fn sorts_keys_by_utf16_code_units() {
        // RFC 8785 §3.2.3's example: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
        let v = json!({"\u{FB33}": 1, "\u{1F600}": 2, "\r": 3, "1": 4, "\u{80}": 5, "ö": 6});
        assert_eq!(
            canon(&v),
            "{\"\\r\":3,\"1\":4,\"\u{80}\":5,\"ö\":6,\"\u{1F600}\":2,\"\u{FB33}\":1}"
        );
    }

    #[test]
    fn escapes_strings_as_jcs_requires() {
        let v = json!("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\"\\/\u{7f}é\u{2028}");
        assert_eq!(
            canon(&v),
            "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\\"\\\\/\u{7f}é\u{2028}\""
        );
    }

    #[test]
    fn formats_numbers_as_ecmascript() {
        // Values from RFC 8785 appendix B and the ECMAScript rules.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-1.2345e-10, "-1.2345e-10"),
            (333333333.3333333, "333333333.3333333"),
            (4.5, "4.5"),
            (2e-3, "0.002"),
            (9007199254740994.0, "9007199254740994"),
        ];
        for (f, want) in cases {
            assert_eq!(es6_number(*f), *want, "{f:e}");
        }
    }

    #[test]
    fn integers_keep_their_decimal_form_within_the_safe_range() {
        assert_eq!(
            canon(&json!([0, -1, 9007199254740991_i64, -9007199254740991_i64])),
            "[0,-1,9007199254740991,-9007199254740991]"
        );
    }

    #[test]
    fn refuses_integers_that_would_lose_precision() {
        let err = canonicalize(&json!({"counts": {"n": 9007199254740993_u64}})).unwrap_err();
        assert_eq!(err.name(), "RecordInvalid");
        assert!(err.to_string().contains("$.counts.n"), "{err}");
        assert!(canonicalize(&json!([-9007199254740992_i64])).is_err());
    }

    #[test]
    fn integral_float_canonicalises_like_the_integer() {
        let v: Value = serde_json::from_str(r#"{"sequence": 1.0}"#).expect("json");
        assert_eq!(canon(&v), r#"{"sequence":1}"#);
    }

    #[test]
    fn digest_is_sha256_hex_of_the_bytes() {
        assert_eq!(
            digest_of(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            checksum_sha256_base64(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
