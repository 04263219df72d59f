//! The [`GitHubLogin`] twin: codes GitHub would issue, each for a login,
//! used once like GitHub's.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use skiff_core::ports::{GitHubLogin, PortError, PortResult};

use super::lock;

/// Sign-ins in memory.
#[derive(Default)]
pub struct MemoryGitHubLogin {
    codes: Mutex<BTreeMap<String, String>>,
}

impl MemoryGitHubLogin {
    /// GitHub will answer `code` with `login` (once).
    pub fn issue(&self, code: &str, login: &str) {
        lock(&self.codes).insert(code.to_string(), login.to_string());
    }
}

#[async_trait]
impl GitHubLogin for MemoryGitHubLogin {
    fn authorize_url(&self, state: &str) -> String {
        format!("https://github.test/login/oauth/authorize?client_id=app&state={state}")
    }

    async fn login_for_code(&self, code: &str) -> PortResult<String> {
        lock(&self.codes).remove(code).ok_or_else(|| {
            PortError::Rejected("GitHub refused the sign-in: bad_verification_code".into())
        })
    }
}
