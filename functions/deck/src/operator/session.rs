//! The deck's signed cookies: the session (who signed in, or nobody, and a
//! random id the CSRF token is derived from) and the OAuth `state` of a
//! sign-in under way. Each is `base64url(json).base64url(HMAC-SHA256)`
//! under the deck's cookie key, so a forged or altered cookie is ignored;
//! each carries its own expiry, so an old one stops working even if a
//! browser keeps it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::Sha256;

use crate::DeckRequest;

pub const SESSION_COOKIE: &str = "skiff_session";
pub const STATE_COOKIE: &str = "skiff_oauth_state";
/// A session lasts a working day.
pub const SESSION_SECONDS: i64 = 12 * 60 * 60;
/// A sign-in must come back from GitHub within ten minutes.
pub const STATE_SECONDS: i64 = 10 * 60;

/// Who a session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The GitHub login; empty before signing in.
    pub login: String,
    /// Random: the CSRF token is derived from it.
    pub sid: String,
    /// Unix seconds.
    pub exp: i64,
}

/// A sign-in under way: the `state` sent to GitHub and the page to go back
/// to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInState {
    pub state: String,
    pub dest: String,
    pub exp: i64,
}

trait Expiring {
    fn exp(&self) -> i64;
}

impl Expiring for Session {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Expiring for SignInState {
    fn exp(&self) -> i64 {
        self.exp
    }
}

fn mac(key: &[u8], data: &[u8]) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
    m.update(data);
    Some(m)
}

/// The signed cookie value of `claims`.
pub fn sign<T: Serialize>(key: &[u8], claims: &T) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = B64.encode(json);
    let tag = mac(key, payload.as_bytes())
        .map(|m| B64.encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{payload}.{tag}")
}

fn verify<T: DeserializeOwned + Expiring>(key: &[u8], value: &str, now: i64) -> Option<T> {
    let (payload, tag) = value.split_once('.')?;
    let tag = B64.decode(tag).ok()?;
    mac(key, payload.as_bytes())?.verify_slice(&tag).ok()?;
    let claims: T = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    (claims.exp() > now).then_some(claims)
}

pub fn session(key: &[u8], req: &DeckRequest, now: i64) -> Option<Session> {
    verify(key, cookie(req, SESSION_COOKIE)?, now)
}

pub fn sign_in_state(key: &[u8], req: &DeckRequest, now: i64) -> Option<SignInState> {
    verify(key, cookie(req, STATE_COOKIE)?, now)
}

/// The CSRF token of a session: only someone who can read the page of that
/// session has it.
pub fn csrf_token(key: &[u8], sid: &str) -> String {
    mac(key, format!("csrf|{sid}").as_bytes())
        .map(|m| B64.encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Whether `token` is the session's CSRF token (compared in constant time).
pub fn csrf_ok(key: &[u8], sid: &str, token: &str) -> bool {
    let Ok(tag) = B64.decode(token) else {
        return false;
    };
    mac(key, format!("csrf|{sid}").as_bytes()).is_some_and(|m| m.verify_slice(&tag).is_ok())
}

/// 32 random bytes, URL-safe.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(B64.encode(bytes))
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'r>(req: &'r DeckRequest, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: only the deck's own pages send it back
/// (`HttpOnly`, `SameSite=Lax`), `Secure` outside localhost.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> DeckRequest {
        DeckRequest {
            headers: vec![("Cookie".into(), format!("a=b; {SESSION_COOKIE}={value}"))],
            ..DeckRequest::get("/")
        }
    }

    #[test]
    fn a_session_is_read_back_only_unaltered_under_its_key_and_before_it_expires() {
        let key = b"k1";
        let s = Session {
            login: "alice".into(),
            sid: "sid1".into(),
            exp: 1000,
        };
        let v = sign(key, &s);
        assert_eq!(session(key, &with_cookie(&v), 999), Some(s.clone()));
        assert_eq!(session(key, &with_cookie(&v), 1000), None, "expired");
        assert_eq!(session(b"k2", &with_cookie(&v), 1), None, "another key");
        let forged = sign(
            key,
            &Session {
                login: "admin".into(),
                ..s.clone()
            },
        );
        let (payload, _) = forged.split_once('.').unwrap();
        let (_, tag) = v.split_once('.').unwrap();
        assert_eq!(
            session(key, &with_cookie(&format!("{payload}.{tag}")), 1),
            None,
            "a payload with another's tag"
        );
        assert_eq!(session(key, &with_cookie("garbage"), 1), None);
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session_and_one_key() {
        let t = csrf_token(b"k", "sid1");
        assert!(csrf_ok(b"k", "sid1", &t));
        assert!(!csrf_ok(b"k", "sid2", &t));
        assert!(!csrf_ok(b"other", "sid1", &t));
        assert!(!csrf_ok(b"k", "sid1", ""));
        assert!(!csrf_ok(b"k", "sid1", "not base64!"));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_off_localhost() {
        let c = set_cookie(SESSION_COOKIE, "v", 60, true);
        assert_eq!(
            c,
            "skiff_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set_cookie(SESSION_COOKIE, "v", 60, false).contains("Secure"));
    }
}
