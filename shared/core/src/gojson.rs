//! JSON bytes as Go's `encoding/json.Marshal` writes them.
//!
//! `JOB_SPEC`, `prowjob.json` and `/prowjobs.js` are read by tools written for
//! Prow, and some of them compare or hash the text, so "equivalent JSON" is not
//! enough. serde_json's compact output already matches Go in layout, integer form
//! and the short escapes; it differs in three places, which [`GoFormatter`] fixes:
//!
//! - Go escapes `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026` (HTML safety,
//!   on by default in `Marshal`), in keys as well as values;
//! - Go escapes U+2028 and U+2029 as `\u2028` and `\u2029` (JSONP safety);
//! - Go prints floats as `strconv.FormatFloat(f, 'f', -1)`, switching to the
//!   exponent form (`1e+21`, `1e-7`) only outside `[1e-6, 1e21)`; serde_json
//!   prints `1.0` for one and uses other thresholds.
//!
//! Control characters follow Go 1.22+: `\b`, `\f`, `\n`, `\r`, `\t` short, every
//! other byte below 0x20 as `\u00XX` with lower-case hex; DEL (0x7f) is written as
//! is. Rust strings are always valid UTF-8, so Go's `\ufffd` substitution for
//! invalid bytes never arises.

use std::{fmt, io};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// `json.Marshal(v)` as text.
///
/// For the plain structs and string-keyed maps this crate serialises, encoding
/// cannot fail; a `Serialize` impl that does fail (a map with non-string keys,
/// a custom error) yields `null`, the nearest thing Go's `Marshal` has to "no
/// value". Use [`try_to_string`] where the error matters.
pub fn to_string<T: Serialize + ?Sized>(v: &T) -> String {
    try_to_string(v).unwrap_or_else(|_| String::from("null"))
}

/// `json.Marshal(v)` as text, or serde_json's error.
pub fn try_to_string<T: Serialize + ?Sized>(v: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    v.serialize(&mut ser)?;
    String::from_utf8(out).map_err(<serde_json::Error as serde::ser::Error>::custom)
}

/// A compact serde_json formatter that writes strings and floats as Go does.
#[derive(Clone, Copy, Debug, Default)]
pub struct GoFormatter;

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // serde_json has already split out the characters JSON itself requires
        // escaping; what reaches here may still hold the ones only Go escapes.
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // Spelled out rather than inherited so a serde_json change cannot move
        // the bytes away from Go's.
        let short = |c: u8| [b'\\', c];
        match char_escape {
            CharEscape::Quote => writer.write_all(&short(b'"')),
            CharEscape::ReverseSolidus => writer.write_all(&short(b'\\')),
            // Go never escapes '/'; serde_json never asks, but map it to the
            // literal character should it start to.
            CharEscape::Solidus => writer.write_all(b"/"),
            CharEscape::Backspace => writer.write_all(&short(b'b')),
            CharEscape::FormFeed => writer.write_all(&short(b'f')),
            CharEscape::LineFeed => writer.write_all(&short(b'n')),
            CharEscape::CarriageReturn => writer.write_all(&short(b'r')),
            CharEscape::Tab => writer.write_all(&short(b't')),
            CharEscape::AsciiControl(b) => writer.write_all(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let abs = value.abs();
        let exponent = abs != 0.0 && !(1e-6..1e21).contains(&abs);
        write_go_float(writer, value, exponent)
    }

    fn write_f32<W>(&mut self, writer: &mut W, value: f32) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        // Go compares in float32 too, so the thresholds are the f32 roundings.
        let abs = value.abs();
        let exponent = abs != 0.0 && !(1e-6f32..1e21f32).contains(&abs);
        write_go_float(writer, value, exponent)
    }
}

/// Rust's `{}` and `{:e}` already give the shortest round-trip digits, as Go's
/// precision -1 does; only the exponent needs Go's explicit `+` sign.
fn write_go_float<W, F>(writer: &mut W, value: F, exponent: bool) -> io::Result<()>
where
    W: ?Sized + io::Write,
    F: fmt::Display + fmt::LowerExp,
{
    if !exponent {
        return write!(writer, "{value}");
    }
    let scientific = format!("{value:e}");
    match scientific.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => write!(writer, "{mantissa}e+{exp}"),
        _ => writer.write_all(scientific.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn strings_escape_as_go_marshal_does() {
        // Expected bytes are Go's: encode.go appendString with escapeHTML=true.
        let cases: &[(&str, &str, &str)] = &[
            (
                "plain ascii is untouched",
                "hello, world",
                r#""hello, world""#,
            ),
            (
                "html specials use unicode escapes",
                "<a & b>",
                r#""\u003ca \u0026 b\u003e""#,
            ),
            (
                "quote and backslash are short",
                "say \"hi\" \\o/",
                r#""say \"hi\" \\o/""#,
            ),
            ("slash is never escaped", "a/b", r#""a/b""#),
            ("b f n r t are short", "\u{8}\u{c}\n\r\t", r#""\b\f\n\r\t""#),
            (
                "other controls are lower-case u00xx",
                "\u{0}\u{1}\u{1f}\u{b}",
                r#""\u0000\u0001\u001f\u000b""#,
            ),
            ("del is written as is", "\u{7f}", "\"\u{7f}\""),
            (
                "line and paragraph separators are escaped",
                "a\u{2028}b\u{2029}c",
                r#""a\u2028b\u2029c""#,
            ),
            (
                "other non-ascii is written as is",
                "µs ü 日本 🚀",
                "\"µs ü 日本 🚀\"",
            ),
            (
                "escapes next to each other",
                "<<&\n>>",
                r#""\u003c\u003c\u0026\n\u003e\u003e""#,
            ),
            ("empty string", "", r#""""#),
        ];
        for (rule, input, want) in cases {
            assert_eq!(to_string(input), *want, "{rule}");
        }
    }

    #[test]
    fn map_keys_are_escaped_like_values() {
        let m = BTreeMap::from([("a<b", "c&d")]);
        assert_eq!(to_string(&m), r#"{"a\u003cb":"c\u0026d"}"#);
    }

    #[test]
    fn output_is_compact() {
        let v = serde_json::json!({"a": [1, 2, {"b": null}], "c": true});
        assert_eq!(to_string(&v), r#"{"a":[1,2,{"b":null}],"c":true}"#);
    }

    #[test]
    fn floats_format_as_go_strconv_shortest() {
        // Go: 'f' format inside [1e-6, 1e21), 'e' outside with e-0X trimmed to e-X.
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.25e-9, "1.25e-9"),
            (1e-10, "1e-10"),
            (-2.5e-8, "-2.5e-8"),
            (123456789.125, "123456789.125"),
        ];
        for (input, want) in cases {
            assert_eq!(to_string(input), *want, "{input:e}");
        }
        assert_eq!(to_string(&1.5f32), "1.5");
        assert_eq!(to_string(&1e21f32), "1e+21");
        assert_eq!(to_string(&1e-7f32), "1e-7");
        assert_eq!(to_string(&0.1f32), "0.1");
    }

    #[test]
    fn integers_are_plain_decimal() {
        assert_eq!(to_string(&-42i64), "-42");
        assert_eq!(to_string(&u64::MAX), "18446744073709551615");
    }

    #[test]
    fn failing_serialize_yields_null_and_an_error() {
        let m = BTreeMap::from([(vec![1u8], 1)]);
        assert!(try_to_string(&m).is_err());
        assert_eq!(to_string(&m), "null");
    }
}
