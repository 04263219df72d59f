//! Signing in to the deck with GitHub (Prow's deck `githuboauth`): the
//! authorize URL a person is sent to, and the login behind the code GitHub
//! sends back. The access token is used once, for `GET /user`, and dropped.

use async_trait::async_trait;

use super::PortResult;

#[async_trait]
pub trait GitHubLogin: Send + Sync {
    /// GitHub's authorize URL for the OAuth app, carrying `state`.
    fn authorize_url(&self, state: &str) -> String;
    /// Exchanges `code` for a token and answers the signed-in login.
    async fn login_for_code(&self, code: &str) -> PortResult<String>;
}
