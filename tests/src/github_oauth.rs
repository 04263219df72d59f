//! The fake GitHub's OAuth app endpoints and the user and team lookups the
//! deck's sign-in and rerun rules ask, in GitHub's shapes: `POST
//! /login/oauth/access_token` (a form; a code GitHub issued once answers an
//! access token, any other a 200 with `error`, as GitHub does), `GET /user`
//! with that token, and team memberships by slug and (legacy) by id.

use serde_json::{Value, json};

use super::{GitHub, Reply, not_found, reply};

/// What the sign-in side of the fake holds.
#[derive(Default)]
pub struct OAuth {
    /// The app's client id and secret.
    pub client_id: String,
    pub client_secret: String,
    /// Codes GitHub would send back to the redirect URL → the login.
    pub codes: std::collections::BTreeMap<String, String>,
    /// Access tokens issued → the login.
    pub tokens: std::collections::BTreeMap<String, String>,
    /// `org/slug` and team ids → active members.
    pub teams: std::collections::BTreeMap<String, Vec<String>>,
}

fn membership(gh: &GitHub, team: &str, login: &str) -> Reply {
    let member = gh
        .oauth
        .teams
        .get(team)
        .is_some_and(|m| m.iter().any(|l| l.eq_ignore_ascii_case(login)));
    if member {
        reply(200, json!({"state": "active", "role": "member"}))
    } else {
        not_found()
    }
}

pub(super) fn route(
    gh: &mut GitHub,
    method: &str,
    parts: &[&str],
    body: &Value,
    authorization: &str,
) -> Option<Reply> {
    Some(match (method, parts) {
        ("POST", ["login", "oauth", "access_token"]) => {
            let field = |k: &str| body[k].as_str().unwrap_or_default().to_string();
            if field("client_id") != gh.oauth.client_id
                || field("client_secret") != gh.oauth.client_secret
            {
                return Some(reply(200, json!({"error": "incorrect_client_credentials"})));
            }
            match gh.oauth.codes.remove(&field("code")) {
                Some(login) => {
                    let token = format!("gho_{}", gh.oauth.tokens.len() + 1);
                    gh.oauth.tokens.insert(token.clone(), login);
                    reply(
                        200,
                        json!({"access_token": token, "token_type": "bearer", "scope": ""}),
                    )
                }
                None => reply(200, json!({"error": "bad_verification_code"})),
            }
        }
        ("GET", ["user"]) => {
            let token = authorization
                .strip_prefix("Bearer ")
                .or_else(|| authorization.strip_prefix("token "))
                .unwrap_or_default();
            // Other tokens (the bot's) are the main fake's to answer.
            let login = gh.oauth.tokens.get(token)?;
            reply(200, json!({"login": login, "id": 1}))
        }
        ("GET", ["orgs", org, "teams", slug, "memberships", login]) => {
            membership(gh, &format!("{org}/{slug}"), login)
        }
        ("GET", ["teams", id, "memberships", login]) => membership(gh, id, login),
        _ => return None,
    })
}
