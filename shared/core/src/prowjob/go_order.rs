//! The Kubernetes values inside a `DecorationConfig` written as Go writes them.
//!
//! Prow's `decoration_config` embeds core/v1 types (`ResourceRequirements`,
//! `Affinity`, `Toleration`) and `resource.Quantity`. Skiff holds them as
//! k8s-openapi types, which serialise fields alphabetically and quantities as
//! the text they were read from; Go's `encoding/json` writes struct fields in
//! declaration order, drops `omitempty` fields holding an empty string, slice
//! or map, and writes a quantity in its canonical form. [`decoration_config`]
//! rewrites the serialised config (a `serde_json::Value`, whose maps keep
//! insertion order because the workspace enables serde_json's
//! `preserve_order`) so that [`crate::gojson`] then writes Go's bytes.
//!
//! Field orders are those of `k8s.io/api/core/v1/types.go` and
//! `k8s.io/apimachinery/pkg/apis/meta/v1/types.go`; the quantity rules are
//! `ParseQuantity` and `CanonicalizeBytes` of
//! `k8s.io/apimachinery/pkg/api/resource/quantity.go`.

use serde_json::{Map, Value};

use Child::{Leaf, List, Object, Quantities};
use Omit::{IfEmpty, Never};

/// Where Kubernetes values sit in a serialised `DecorationConfig`, as JSON
/// pointers. The Prow structs around them are already in Go's order.
const DECORATION_CONFIG_PATHS: &[(&str, Child)] = &[
    ("/resources/clonerefs", Object(Kind::ResourceRequirements)),
    ("/resources/initupload", Object(Kind::ResourceRequirements)),
    (
        "/resources/place_entrypoint",
        Object(Kind::ResourceRequirements),
    ),
    ("/resources/sidecar", Object(Kind::ResourceRequirements)),
    ("/default_memory_request", Child::Quantity),
    ("/scheduling_options/affinity", Object(Kind::Affinity)),
    ("/scheduling_options/tolerations", List(Kind::Toleration)),
];

/// Puts the Kubernetes values of a serialised `DecorationConfig` in Go's
/// field order and omission, with quantities in Go's canonical form.
/// Anything not shaped as expected is left alone.
pub(super) fn decoration_config(config: &mut Value) {
    for (pointer, child) in DECORATION_CONFIG_PATHS {
        if let Some(value) = config.pointer_mut(pointer) {
            to_go(value, *child);
        }
    }
}

/// A Kubernetes struct type whose JSON Go writes in declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ResourceRequirements,
    ResourceClaim,
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    NodeSelectorRequirement,
    PreferredSchedulingTerm,
    /// `PodAffinity` and `PodAntiAffinity`: the same fields.
    PodAffinity,
    PodAffinityTerm,
    WeightedPodAffinityTerm,
    LabelSelector,
    LabelSelectorRequirement,
    Toleration,
}

/// What a field holds, so its value is rewritten in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Child {
    /// A string, number or list of strings: nothing inside to reorder.
    Leaf,
    Object(Kind),
    List(Kind),
    /// A `resource.Quantity`.
    Quantity,
    /// A `ResourceList`: names to quantities, keys sorted as Go sorts map
    /// keys (the `BTreeMap` behind it has them so already).
    Quantities,
}

/// When Go leaves a field out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Omit {
    /// No `omitempty`, or `omitempty` on a pointer or struct: written
    /// whenever k8s-openapi writes it.
    Never,
    /// `omitempty` on a string, slice or map: left out when empty.
    IfEmpty,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    name: &'static str,
    omit: Omit,
    child: Child,
}

const fn field(name: &'static str, omit: Omit, child: Child) -> Field {
    Field { name, omit, child }
}

// Go's fields of each type, in declaration order, with their `omitempty`.

const RESOURCE_REQUIREMENTS: &[Field] = &[
    field("limits", IfEmpty, Quantities),
    field("requests", IfEmpty, Quantities),
    field("claims", IfEmpty, List(Kind::ResourceClaim)),
];
const RESOURCE_CLAIM: &[Field] = &[field("name", Never, Leaf), field("request", IfEmpty, Leaf)];
const AFFINITY: &[Field] = &[
    field("nodeAffinity", Never, Object(Kind::NodeAffinity)),
    field("podAffinity", Never, Object(Kind::PodAffinity)),
    field("podAntiAffinity", Never, Object(Kind::PodAffinity)),
];
const NODE_AFFINITY: &[Field] = &[
    field(
        "requiredDuringSchedulingIgnoredDuringExecution",
        Never,
        Object(Kind::NodeSelector),
    ),
    field(
        "preferredDuringSchedulingIgnoredDuringExecution",
        IfEmpty,
        List(Kind::PreferredSchedulingTerm),
    ),
];
/// `nodeSelectorTerms` has no `omitempty`: Go writes `null` for a nil slice,
/// which k8s-openapi cannot tell from an empty one (it writes `[]`).
const NODE_SELECTOR: &[Field] = &[field(
    "nodeSelectorTerms",
    Never,
    List(Kind::NodeSelectorTerm),
)];
const NODE_SELECTOR_TERM: &[Field] = &[
    field(
        "matchExpressions",
        IfEmpty,
        List(Kind::NodeSelectorRequirement),
    ),
    field("matchFields", IfEmpty, List(Kind::NodeSelectorRequirement)),
];
/// `NodeSelectorRequirement` and meta/v1 `LabelSelectorRequirement`.
const SELECTOR_REQUIREMENT: &[Field] = &[
    field("key", Never, Leaf),
    field("operator", Never, Leaf),
    field("values", IfEmpty, Leaf),
];
const PREFERRED_SCHEDULING_TERM: &[Field] = &[
    field("weight", Never, Leaf),
    field("preference", Never, Object(Kind::NodeSelectorTerm)),
];
/// `PodAffinity` and `PodAntiAffinity`.
const POD_AFFINITY: &[Field] = &[
    field(
        "requiredDuringSchedulingIgnoredDuringExecution",
        IfEmpty,
        List(Kind::PodAffinityTerm),
    ),
    field(
        "preferredDuringSchedulingIgnoredDuringExecution",
        IfEmpty,
        List(Kind::WeightedPodAffinityTerm),
    ),
];
const POD_AFFINITY_TERM: &[Field] = &[
    field("labelSelector", Never, Object(Kind::LabelSelector)),
    field("namespaces", IfEmpty, Leaf),
    field("topologyKey", Never, Leaf),
    field("namespaceSelector", Never, Object(Kind::LabelSelector)),
    field("matchLabelKeys", IfEmpty, Leaf),
    field("mismatchLabelKeys", IfEmpty, Leaf),
];
const WEIGHTED_POD_AFFINITY_TERM: &[Field] = &[
    field("weight", Never, Leaf),
    field("podAffinityTerm", Never, Object(Kind::PodAffinityTerm)),
];
/// meta/v1 `LabelSelector`. `matchLabels` is a map Go sorts; the `BTreeMap`
/// behind it has it sorted already.
const LABEL_SELECTOR: &[Field] = &[
    field("matchLabels", IfEmpty, Leaf),
    field(
        "matchExpressions",
        IfEmpty,
        List(Kind::LabelSelectorRequirement),
    ),
];
const TOLERATION: &[Field] = &[
    field("key", IfEmpty, Leaf),
    field("operator", IfEmpty, Leaf),
    field("value", IfEmpty, Leaf),
    field("effect", IfEmpty, Leaf),
    // *int64: omitted only when nil, so 0 is written.
    field("tolerationSeconds", Never, Leaf),
];

fn fields(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::ResourceRequirements => RESOURCE_REQUIREMENTS,
        Kind::ResourceClaim => RESOURCE_CLAIM,
        Kind::Affinity => AFFINITY,
        Kind::NodeAffinity => NODE_AFFINITY,
        Kind::NodeSelector => NODE_SELECTOR,
        Kind::NodeSelectorTerm => NODE_SELECTOR_TERM,
        Kind::NodeSelectorRequirement | Kind::LabelSelectorRequirement => SELECTOR_REQUIREMENT,
        Kind::PreferredSchedulingTerm => PREFERRED_SCHEDULING_TERM,
        Kind::PodAffinity => POD_AFFINITY,
        Kind::PodAffinityTerm => POD_AFFINITY_TERM,
        Kind::WeightedPodAffinityTerm => WEIGHTED_POD_AFFINITY_TERM,
        Kind::LabelSelector => LABEL_SELECTOR,
        Kind::Toleration => TOLERATION,
    }
}

fn to_go(value: &mut Value, child: Child) {
    match (child, value) {
        (Child::Object(kind), Value::Object(map)) => reorder(map, kind),
        (Child::List(kind), Value::Array(items)) => {
            for item in items {
                to_go(item, Child::Object(kind));
            }
        }
        (Child::Quantity, Value::String(s)) => {
            if let Some(canonical) = go_quantity(s) {
                *s = canonical;
            }
        }
        (Child::Quantities, Value::Object(map)) => {
            map.sort_keys();
            for v in map.values_mut() {
                to_go(v, Child::Quantity);
            }
        }
        _ => {}
    }
}

/// Known fields first, in Go's order; fields Go does not know keep their
/// relative order after them.
fn reorder(map: &mut Map<String, Value>, kind: Kind) {
    let mut rest = std::mem::take(map);
    for f in fields(kind) {
        let Some(mut value) = rest.shift_remove(f.name) else {
            continue;
        };
        if f.omit == Omit::IfEmpty && is_empty(&value) {
            continue;
        }
        to_go(&mut value, f.child);
        map.insert(f.name.to_string(), value);
    }
    map.extend(rest);
}

/// What `omitempty` drops for a string, slice or map (and a nil one).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

// ---------------------------------------------------------------------------
// resource.Quantity
// ---------------------------------------------------------------------------

/// `Quantity.Format`: the kind of suffix the quantity was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    DecimalExponent,
    DecimalSI,
    BinarySI,
}

/// The longest digit string Go reads into an int64 on the fast path
/// (`maxInt64Factors`).
const MAX_INT64_FACTORS: i64 = 18;
/// `Nano`: Go rounds every quantity up to whole nano-units.
const NANO: i64 = -9;
/// `maxAllowed`, the cap of binary-SI quantities, in nano-units.
const MAX_BINARY_NANOS: u128 = (i64::MAX as u128) * 1_000_000_000;

/// What Go's `resource.Quantity` writes (`MarshalJSON`) for a quantity read
/// from `s` (`UnmarshalJSON`), or `None` when Go would refuse `s`, in which
/// case the caller keeps it as written.
///
/// Go keeps the text as read when `ParseQuantity` finds it canonical on its
/// fast path (so `100m`, `1Gi`, and also `01` and `1.` stay as they are), and
/// otherwise writes the canonical form: `1000m` → `1`, `1.5` → `1500m`,
/// `0.5Gi` → `512Mi`, `0.1m` → `100u`, `1e-20` → `1e-9`. Its quirks are kept:
/// a decimal-SI value beyond `E` loses its suffix (`1000E` → `1`), and binary
/// SI caps at 2^63-1. The one divergence: where Go's int32 exponent
/// arithmetic would overflow (exponents near ±2^31), the text is left as
/// written rather than wrapped as Go wraps it.
pub(super) fn go_quantity(s: &str) -> Option<String> {
    // UnmarshalJSON trims Unicode white space (TrimSpace) before parsing.
    let text = s.trim();
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(text.to_string());
    }
    let parts = split_quantity(text.as_bytes())?;
    let (exponent, format) = interpret_suffix(parts.suffix)?;

    if let Some(fast) = fast_path(&parts, exponent, format) {
        return match fast {
            Fast::Cached => Some(text.to_string()),
            Fast::Amount(amount) => canonical(amount, format),
        };
    }

    // The inf.Dec path: exact value, rounded up to nano-units, binary SI capped.
    let digits: Vec<u8> = parts
        .value
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect();
    if digits.is_empty() {
        return None; // inf.Dec.SetString: no digits read.
    }
    let frac = i64::try_from(parts.denom.len()).ok()?;
    let mut amount = Amount::new(!parts.positive, digits, 0);
    match format {
        Format::BinarySI => {
            for _ in 0..exponent / 10 {
                amount.mul_small(1024);
            }
            amount.exp = -frac;
        }
        Format::DecimalSI | Format::DecimalExponent => {
            amount.exp = fits_i32(i64::from(exponent) - frac)?;
        }
    }
    amount.round_up_to_nanos();
    canonical(amount, format)
}

/// `parseQuantityString`'s pieces, as byte slices of the input.
struct Parts<'a> {
    positive: bool,
    /// Sign, digits and point: what `inf.Dec.SetString` reads on the slow path.
    value: &'a [u8],
    /// The integer digits without leading zeros, `0` when there are none.
    num: &'a [u8],
    denom: &'a [u8],
    suffix: &'a [u8],
}

/// Go's `parseQuantityString`: splits sign, number and suffix, or `None` for
/// `ErrFormatWrong`.
fn split_quantity(s: &[u8]) -> Option<Parts<'_>> {
    let end = s.len();
    let mut pos = 0;
    let mut positive = true;
    match s.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    let parts = |value, num, denom, suffix| {
        Some(Parts {
            positive,
            value,
            num,
            denom,
            suffix,
        })
    };

    while pos < end && s[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return parts(b"0", b"0", b"", b"");
    }

    let num_start = pos;
    while pos < end && s[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return parts(s, &s[num_start..], b"", b"");
    }
    let num: &[u8] = if pos == num_start {
        b"0"
    } else {
        &s[num_start..pos]
    };

    let mut denom: &[u8] = b"";
    if s[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && s[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos >= end {
            return parts(s, num, &s[denom_start..], b"");
        }
        denom = &s[denom_start..pos];
    }
    let value = &s[..pos];

    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&s[pos]) {
        pos += 1;
    }
    if pos < end && (s[pos] == b'-' || s[pos] == b'+') {
        pos += 1;
    }
    while pos < end && s[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return None;
    }
    parts(value, num, denom, &s[suffix_start..])
}

/// `quantitySuffixer.interpret`: the base-10 or base-2 exponent and format of
/// a suffix, or `None` for `ErrSuffix`.
fn interpret_suffix(suffix: &[u8]) -> Option<(i32, Format)> {
    let (exponent, format) = match suffix {
        b"" => (0, Format::DecimalSI),
        b"n" => (-9, Format::DecimalSI),
        b"u" => (-6, Format::DecimalSI),
        b"m" => (-3, Format::DecimalSI),
        b"k" => (3, Format::DecimalSI),
        b"M" => (6, Format::DecimalSI),
        b"G" => (9, Format::DecimalSI),
        b"T" => (12, Format::DecimalSI),
        b"P" => (15, Format::DecimalSI),
        b"E" => (18, Format::DecimalSI),
        b"Ki" => (10, Format::BinarySI),
        b"Mi" => (20, Format::BinarySI),
        b"Gi" => (30, Format::BinarySI),
        b"Ti" => (40, Format::BinarySI),
        b"Pi" => (50, Format::BinarySI),
        b"Ei" => (60, Format::BinarySI),
        [b'e' | b'E', rest @ ..] if !rest.is_empty() => {
            let parsed: i64 = std::str::from_utf8(rest).ok()?.parse().ok()?;
            // Go converts with int32(parsed), which wraps.
            (parsed as i32, Format::DecimalExponent)
        }
        _ => return None,
    };
    Some((exponent, format))
}

enum Fast {
    /// Go keeps the text as read.
    Cached,
    Amount(Amount),
}

/// `ParseQuantity`'s int64 fast path: `None` when Go falls through to inf.Dec.
fn fast_path(parts: &Parts<'_>, exponent: i32, format: Format) -> Option<Fast> {
    let num_len = i64::try_from(parts.num.len()).ok()?;
    let denom_len = i64::try_from(parts.denom.len()).ok()?;
    let (scale, precision, mantissa) = match format {
        Format::DecimalExponent | Format::DecimalSI => (
            i64::from(exponent),
            MAX_INT64_FACTORS - (num_len + denom_len),
            1i64,
        ),
        Format::BinarySI if exponent >= 0 && denom_len == 0 => {
            // int32(float32(exponent)*3/10) is exact for 10, 20, ... 60.
            let precision = 15 - num_len - i64::from(exponent) * 3 / 10 - 1;
            (0, precision, 1i64 << exponent)
        }
        Format::BinarySI => (0, -1, 1),
    };
    if precision < 0 {
        return None;
    }
    let scale = fits_i32(scale - denom_len)?;
    if scale < NANO {
        return None;
    }
    let shifted: Vec<u8> = parts.num.iter().chain(parts.denom).copied().collect();
    // At most 18 digits here, so this fits; Go's ErrNumeric otherwise.
    let value: i64 = std::str::from_utf8(&shifted).ok()?.parse().ok()?;
    let result = value.checked_mul(mantissa)?;
    let cached = match format {
        Format::BinarySI => exponent % 10 == 0 && value & 0x07 != 0,
        Format::DecimalExponent | Format::DecimalSI => {
            scale % 3 == 0 && !shifted.ends_with(b"000") && shifted.first() != Some(&b'0')
        }
    };
    if cached {
        return Some(Fast::Cached);
    }
    let digits = result.to_string().bytes().map(|b| b - b'0').collect();
    Some(Fast::Amount(Amount::new(!parts.positive, digits, scale)))
}

/// `CanonicalizeBytes` followed by the suffix: the text Go writes.
fn canonical(mut amount: Amount, format: Format) -> Option<String> {
    if amount.is_zero() {
        return Some("0".to_string());
    }
    if format == Format::BinarySI {
        let nanos = amount
            .nanos()
            .map_or(MAX_BINARY_NANOS, |n| n.min(MAX_BINARY_NANOS));
        // Below 1024 in magnitude, or not whole: written as decimal SI.
        if nanos >= 1024 * 1_000_000_000 && nanos.is_multiple_of(1_000_000_000) {
            let mut n = nanos / 1_000_000_000;
            let mut times = 0;
            while n >= 1024 && n.is_multiple_of(1024) {
                n /= 1024;
                times += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
                .get(times)
                .copied()
                .unwrap_or("");
            let sign = if amount.negative { "-" } else { "" };
            return Some(format!("{sign}{n}{suffix}"));
        }
    }

    // Factors of ten into the exponent, then the exponent down to a multiple
    // of three.
    while amount.digits.len() > 1 && amount.digits.last() == Some(&0) {
        amount.digits.pop();
        amount.exp += 1;
    }
    fits_i32(amount.exp)?;
    for _ in 0..amount.exp.rem_euclid(3) {
        amount.digits.push(0);
        amount.exp -= 1;
    }
    let exp = fits_i32(amount.exp)?;
    let suffix = match format {
        Format::DecimalExponent if exp == 0 => String::new(),
        Format::DecimalExponent => format!("e{exp}"),
        // constructBytes finds no decimal-SI suffix outside n..E and Go
        // ignores that, writing the bare number.
        Format::DecimalSI | Format::BinarySI => match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        }
        .to_string(),
    };
    let mut out = String::with_capacity(amount.digits.len() + suffix.len() + 1);
    if amount.negative {
        out.push('-');
    }
    out.extend(amount.digits.iter().map(|d| char::from(b'0' + d)));
    out.push_str(&suffix);
    Some(out)
}

fn fits_i32(n: i64) -> Option<i64> {
    i32::try_from(n).ok().map(i64::from)
}

/// An exact decimal: `digits × 10^exp`, digits most significant first without
/// leading zeros (empty for zero).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Amount {
    negative: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Amount {
    fn new(negative: bool, digits: Vec<u8>, exp: i64) -> Self {
        let first = digits.iter().position(|d| *d != 0).unwrap_or(digits.len());
        Amount {
            negative,
            digits: digits[first..].to_vec(),
            exp,
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for d in self.digits.iter_mut().rev() {
            let v = u64::from(*d) * u64::from(factor) + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            self.digits.insert(0, (carry % 10) as u8);
            carry /= 10;
        }
    }

    /// inf.Dec `Round(amount, 9, RoundUp)` on the magnitude.
    fn round_up_to_nanos(&mut self) {
        if self.is_zero() || self.exp >= NANO {
            return;
        }
        let drop = usize::try_from(NANO - self.exp).unwrap_or(usize::MAX);
        if drop >= self.digits.len() {
            self.digits = vec![1];
        } else {
            let keep = self.digits.len() - drop;
            let inexact = self.digits[keep..].iter().any(|d| *d != 0);
            self.digits.truncate(keep);
            if inexact {
                self.increment();
            }
        }
        self.exp = NANO;
    }

    fn increment(&mut self) {
        for d in self.digits.iter_mut().rev() {
            if *d < 9 {
                *d += 1;
                return;
            }
            *d = 0;
        }
        self.digits.insert(0, 1);
    }

    /// The magnitude in nano-units, or `None` past `u128` (or when not whole
    /// nano-units, which rounding has ruled out).
    fn nanos(&self) -> Option<u128> {
        let shift = self.exp.checked_sub(NANO)?;
        if shift < 0 {
            return None;
        }
        let mut n: u128 = 0;
        for d in &self.digits {
            n = n.checked_mul(10)?.checked_add(u128::from(*d))?;
        }
        for _ in 0..shift {
            n = n.checked_mul(10)?;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn go(value: Value, kind: Kind) -> String {
        let mut value = value;
        to_go(&mut value, Child::Object(kind));
        crate::gojson::to_string(&value)
    }

    /// Every type in the table, its fields given in reverse (or alphabetical)
    /// order; the expected bytes follow the Go declaration order.
    #[test]
    fn fields_come_out_in_go_declaration_order() {
        let cases: Vec<(Kind, Value, &str)> = vec![
            (
                Kind::ResourceRequirements,
                json!({"claims": [{"request": "gpu-0", "name": "accel"}], "limits": {"cpu": "2"}, "requests": {"cpu": "500m"}}),
                r#"{"limits":{"cpu":"2"},"requests":{"cpu":"500m"},"claims":[{"name":"accel","request":"gpu-0"}]}"#,
            ),
            (
                Kind::Toleration,
                json!({"effect": "NoExecute", "key": "dedicated", "operator": "Equal", "tolerationSeconds": 300, "value": "ci"}),
                r#"{"key":"dedicated","operator":"Equal","value":"ci","effect":"NoExecute","tolerationSeconds":300}"#,
            ),
            (
                Kind::Affinity,
                json!({
                    "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "widgets"}}}, "weight": 50}]},
                    "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [], "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "namespaces": ["ci"], "mismatchLabelKeys": ["b"], "matchLabelKeys": ["a"], "namespaceSelector": {}}]},
                    "nodeAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [{"preference": {"matchFields": [{"values": ["n1"], "operator": "In", "key": "metadata.name"}]}, "weight": 1}],
                        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [], "matchExpressions": [{"operator": "Exists", "key": "ci"}]}]}
                    }
                }),
                concat!(
                    r#"{"nodeAffinity":{"#,
                    r#""requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"ci","operator":"Exists"}]}]},"#,
                    r#""preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"preference":{"matchFields":[{"key":"metadata.name","operator":"In","values":["n1"]}]}}]},"#,
                    r#""podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"namespaces":["ci"],"topologyKey":"zone","namespaceSelector":{},"matchLabelKeys":["a"],"mismatchLabelKeys":["b"]}]},"#,
                    r#""podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":50,"podAffinityTerm":{"labelSelector":{"matchLabels":{"app":"widgets"}},"topologyKey":"kubernetes.io/hostname"}}]}}"#,
                ),
            ),
            (
                Kind::LabelSelector,
                json!({"matchExpressions": [{"values": ["a", "b"], "operator": "NotIn", "key": "tier"}], "matchLabels": {"team": "storage"}}),
                r#"{"matchLabels":{"team":"storage"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["a","b"]}]}"#,
            ),
        ];
        for (kind, input, want) in cases {
            assert_eq!(go(input, kind), want, "{kind:?}");
        }
    }

    #[test]
    fn omitempty_drops_empty_strings_lists_and_maps_only() {
        let cases: Vec<(Kind, Value, &str)> = vec![
            // Go's omitempty strings; *int64 zero is still written.
            (
                Kind::Toleration,
                json!({"effect": "", "key": "", "operator": "Exists", "tolerationSeconds": 0, "value": ""}),
                r#"{"operator":"Exists","tolerationSeconds":0}"#,
            ),
            (
                Kind::ResourceRequirements,
                json!({"claims": [], "limits": {}, "requests": {"memory": "1Gi"}}),
                r#"{"requests":{"memory":"1Gi"}}"#,
            ),
            // Fields without omitempty stay even when empty; pointers to
            // empty structs stay as {}.
            (
                Kind::NodeSelectorRequirement,
                json!({"key": "", "operator": "", "values": []}),
                r#"{"key":"","operator":""}"#,
            ),
            (
                Kind::Affinity,
                json!({"nodeAffinity": {}, "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}}),
                r#"{"nodeAffinity":{},"podAffinity":{}}"#,
            ),
            (
                Kind::ResourceClaim,
                json!({"name": "", "request": ""}),
                r#"{"name":""}"#,
            ),
            (
                Kind::WeightedPodAffinityTerm,
                json!({"podAffinityTerm": {"topologyKey": ""}, "weight": 0}),
                r#"{"weight":0,"podAffinityTerm":{"topologyKey":""}}"#,
            ),
        ];
        for (kind, input, want) in cases {
            assert_eq!(go(input, kind), want, "{kind:?}");
        }
    }

    #[test]
    fn unknown_keys_follow_known_ones_in_their_own_order() {
        let input = json!({"zeta": 1, "effect": "NoSchedule", "alpha": 2, "key": "k"});
        assert_eq!(
            go(input, Kind::Toleration),
            r#"{"key":"k","effect":"NoSchedule","zeta":1,"alpha":2}"#
        );
    }

    #[test]
    fn values_of_an_unexpected_shape_are_left_alone() {
        let mut v = json!({"resources": {"clonerefs": "oops"}, "scheduling_options": {"tolerations": {"b": 1, "a": 2}}, "default_memory_request": 5});
        let before = v.clone();
        decoration_config(&mut v);
        assert_eq!(v, before);
        let mut not_an_object = json!(["x"]);
        decoration_config(&mut not_an_object);
        assert_eq!(not_an_object, json!(["x"]));
    }

    #[test]
    fn decoration_config_rewrites_only_the_kubernetes_values() {
        let mut v = json!({
            "timeout": "2h0m0s",
            "resources": {
                "clonerefs": {"requests": {"memory": "0.5Gi", "cpu": "1000m"}, "limits": {"memory": "1024Mi"}},
                "sidecar": {"claims": [{"name": "c"}], "requests": {"cpu": "0.1"}}
            },
            "default_memory_request": "1.5Gi",
            "scheduling_options": {
                "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"preference": {}, "weight": 3}]}},
                "tolerations": [{"operator": "Exists", "key": "a"}, {"effect": "NoSchedule", "key": "b"}]
            },
            "run_as_user": 1000
        });
        decoration_config(&mut v);
        assert_eq!(
            crate::gojson::to_string(&v),
            concat!(
                r#"{"timeout":"2h0m0s","resources":{"#,
                r#""clonerefs":{"limits":{"memory":"1Gi"},"requests":{"cpu":"1","memory":"512Mi"}},"#,
                r#""sidecar":{"requests":{"cpu":"100m"},"claims":[{"name":"c"}]}},"#,
                r#""default_memory_request":"1536Mi","#,
                r#""scheduling_options":{"affinity":{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":3,"preference":{}}]}},"#,
                r#""tolerations":[{"key":"a","operator":"Exists"},{"key":"b","effect":"NoSchedule"}]},"#,
                r#""run_as_user":1000}"#,
            )
        );
    }

    /// Expected values worked out by hand from quantity.go's ParseQuantity
    /// (fast path, caching rule, inf.Dec path) and CanonicalizeBytes.
    #[test]
    fn quantities_are_written_in_go_canonical_form() {
        let cases: &[(&str, Option<&str>)] = &[
            // Canonical on the fast path: the text is kept as read.
            ("0", Some("0")),
            ("1", Some("1")),
            ("100m", Some("100m")),
            ("1500m", Some("1500m")),
            ("2Gi", Some("2Gi")),
            ("100Mi", Some("100Mi")),
            ("1025Mi", Some("1025Mi")),
            ("12e6", Some("12e6")),
            ("1e3", Some("1e3")),
            ("1e+3", Some("1e+3")),
            ("1E", Some("1E")),
            ("1n", Some("1n")),
            ("-1", Some("-1")),
            ("+1", Some("+1")),
            ("01", Some("01")),
            ("5.", Some("5.")),
            ("1.Gi", Some("1.Gi")),
            ("  2Gi\t", Some("2Gi")),
            // Recomputed.
            ("1000m", Some("1")),
            ("2000m", Some("2")),
            ("1.5", Some("1500m")),
            ("-1.5", Some("-1500m")),
            ("0.25", Some("250m")),
            ("0.1", Some("100m")),
            (".5", Some("500m")),
            ("0.1m", Some("100u")),
            ("0.1n", Some("1n")),
            ("1e-20", Some("1e-9")),
            ("1e4", Some("10e3")),
            ("1.5e3", Some("1500")),
            ("1.5M", Some("1500k")),
            ("1000E", Some("1")),
            ("-0", Some("0")),
            ("0.0", Some("0")),
            ("00", Some("0")),
            ("0Ki", Some("0")),
            ("8Gi", Some("8Gi")),
            ("128Mi", Some("128Mi")),
            ("1024Mi", Some("1Gi")),
            ("2048Ki", Some("2Mi")),
            ("-8Ki", Some("-8Ki")),
            ("0.5Gi", Some("512Mi")),
            ("1.5Gi", Some("1536Mi")),
            ("0.5Ki", Some("512")),
            ("1.1Ki", Some("1126400m")),
            ("1Ei", Some("1Ei")),
            ("8Ei", Some("9223372036854775807")),
            (
                "123456789012345678901234567890",
                Some("123456789012345678901234567890"),
            ),
            // Refused by Go: left as written by the caller.
            ("", None),
            ("   ", None),
            ("abc", None),
            ("1ki", None),
            ("1e", None),
            ("1.5.5", None),
            ("1 Gi", None),
            (".e-10", None),
            ("1e99999999999999999999", None),
        ];
        for (input, want) in cases {
            let got = go_quantity(input);
            assert_eq!(got.as_deref(), *want, "{input:?}");
            // What Go writes reads back to itself, so a ProwJob that went
            // through the API server gives the same JOB_SPEC.
            if let Some(once) = got {
                assert_eq!(go_quantity(&once), Some(once.clone()), "{input:?} twice");
            }
        }
    }

    #[test]
    fn amount_rounds_up_to_whole_nano_units() {
        let cases = [
            (vec![1, 2, 3], -12, vec![1], -9),
            (vec![1, 2, 3, 0, 0, 0], -12, vec![1, 2, 3], -9),
            (vec![9, 9, 9, 1], -10, vec![1, 0, 0, 0], -9),
            (vec![5], -3, vec![5], -3),
        ];
        for (digits, exp, want_digits, want_exp) in cases {
            let mut a = Amount::new(false, digits.clone(), exp);
            a.round_up_to_nanos();
            assert_eq!(
                (a.digits, a.exp),
                (want_digits, want_exp),
                "{digits:?}e{exp}"
            );
        }
    }
}
