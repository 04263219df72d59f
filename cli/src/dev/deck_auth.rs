//! The deck's sign-in in `skiff dev`: GitHub OAuth with Prow's
//! `--github-oauth-config-file` (and `--cookie-secret-file`, else a key
//! generated into the state dir), or `--deck-auth none` on a loopback
//! listener, where everyone may rerun and abort. Without either the deck
//! stays read-only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use skiff_scm::GitHubOAuthApp;

use super::Args;

/// `--deck-auth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeckAuthChoice {
    /// No sign-in: everyone may rerun and abort (loopback only).
    None,
}

/// The deck's sign-in flags.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DeckArgs {
    /// `none`: no sign-in, everyone may rerun and abort from the deck (only
    /// on a loopback --listen). Without it and without
    /// --github-oauth-config-file, the deck is read-only.
    #[arg(long, value_enum)]
    pub deck_auth: Option<DeckAuthChoice>,
    /// Prow's GitHub OAuth app file (YAML: client_id, client_secret,
    /// redirect_url, scopes): the deck signs people in with GitHub and lets
    /// `deck.rerun_auth_configs` decide who may rerun and abort.
    #[arg(long)]
    pub github_oauth_config_file: Option<PathBuf>,
    /// The key the deck signs its cookies with (default: one generated into
    /// the state dir).
    #[arg(long)]
    pub cookie_secret_file: Option<PathBuf>,
    /// GitHub's web host, for the OAuth sign-in (GitHub Enterprise: https://HOST).
    #[arg(long, default_value = GITHUB_WEB)]
    pub github_web_url: String,
}

/// GitHub's web host.
pub const GITHUB_WEB: &str = "https://github.com";

/// How the deck signs people in.
pub enum DeckSignIn {
    Anyone,
    GitHub(Box<GitHubOAuthApp>),
}

/// What the deck's rerun and abort need, owned for the life of `skiff dev`.
pub struct DeckSetup {
    pub sign_in: DeckSignIn,
    pub cookie_key: Vec<u8>,
    pub secure_cookies: bool,
}

/// The cookie key: the file's bytes (trimmed), or 32 random bytes kept in
/// the state dir so sessions outlive a restart.
fn cookie_key(file: Option<&Path>, state_dir: &Path) -> Result<Vec<u8>, String> {
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => state_dir.join("deck-cookie-secret"),
    };
    if file.is_none() && !path.exists() {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| format!("no randomness for the cookie key: {e}"))?;
        std::fs::create_dir_all(state_dir)
            .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
        std::fs::write(&path, hex::encode(bytes))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the cookie secret {}: {e}", path.display()))?;
    let key = text.trim().as_bytes().to_vec();
    if key.len() < 16 {
        return Err(format!(
            "the cookie secret {} is shorter than 16 bytes",
            path.display()
        ));
    }
    Ok(key)
}

/// The deck's setup from the flags; `None` keeps it read-only.
pub fn deck_setup(args: &Args) -> Result<Option<DeckSetup>, String> {
    let d = &args.deck;
    let sign_in = match (d.deck_auth, &d.github_oauth_config_file) {
        (Some(_), Some(_)) => {
            return Err(
                "--deck-auth none and --github-oauth-config-file cannot be used together".into(),
            );
        }
        (Some(DeckAuthChoice::None), None) => {
            refuse_off_loopback(args.listen)?;
            eprintln!(
                "WARNING: --deck-auth none: anyone who can reach http://{}/ may rerun and abort any job (loopback only)",
                args.listen
            );
            DeckSignIn::Anyone
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let source = path.display().to_string();
            let web = match d.github_web_url.as_str() {
                "" => GITHUB_WEB,
                w => w,
            };
            DeckSignIn::GitHub(Box::new(GitHubOAuthApp::from_config(
                &text,
                &source,
                web,
                &args.github_api_url,
            )?))
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(DeckSetup {
        sign_in,
        cookie_key: cookie_key(d.cookie_secret_file.as_deref(), &args.state_dir)?,
        // Plain HTTP on localhost; anywhere else a TLS proxy is in front.
        secure_cookies: !args.listen.ip().is_loopback(),
    }))
}

fn refuse_off_loopback(listen: SocketAddr) -> Result<(), String> {
    if listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "--deck-auth none lets anyone rerun and abort jobs: it needs a loopback --listen, not {listen}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sign_in_is_refused_off_loopback() {
        assert!(refuse_off_loopback("127.0.0.1:8080".parse().unwrap()).is_ok());
        assert!(refuse_off_loopback("[::1]:8080".parse().unwrap()).is_ok());
        let e = refuse_off_loopback("0.0.0.0:8080".parse().unwrap()).unwrap_err();
        assert!(e.contains("loopback"), "{e}");
    }
}
