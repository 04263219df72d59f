//! The stylesheet and the auto-refresh script, under content-hashed paths
//! so they can be cached for a year.

use std::sync::OnceLock;

pub const CSS: &str = include_str!("../static/deck.css");
pub const JS: &str = include_str!("../static/refresh.js");

fn fnv(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

pub fn css_path() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| format!("/static/deck-{:08x}.css", fnv(CSS.as_bytes())))
}

pub fn js_path() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| format!("/static/refresh-{:08x}.js", fnv(JS.as_bytes())))
}
