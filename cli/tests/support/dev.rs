//! One `skiff dev` for an end-to-end test file: started on a free port over
//! the files a test wrote into its directory, against the fake GitHub, and
//! killed when the test drops it.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{http, wait_for};

pub struct Dev {
    pub child: Child,
    pub url: String,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `skiff dev` over `dir`'s `config.yaml`, `jobs.yaml`, `secret`, `token`
/// and, when the test wrote one, `plugins.yaml`, with `extra` flags; returns
/// once it answers.
pub fn start_dev(dir: &Path, github: &str, extra: &[&str]) -> Dev {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut command = Command::new(env!("CARGO_BIN_EXE_skiff"));
    command
        .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--config-path")
        .arg(dir.join("config.yaml"))
        .arg("--job-config-path")
        .arg(dir.join("jobs.yaml"))
        .arg("--hmac-secret-file")
        .arg(dir.join("secret"))
        .arg("--github-token-file")
        .arg(dir.join("token"))
        .args(["--github-api-url", github])
        .args(extra);
    if dir.join("plugins.yaml").exists() {
        command.arg("--plugin-config").arg(dir.join("plugins.yaml"));
    }
    let child = command
        .env("SKIFF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("skiff dev starts");
    let dev = Dev {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let probe = dev.url.clone();
    wait_for("skiff dev to listen", Duration::from_secs(30), || {
        http("GET", &format!("{probe}/prowjobs.js"), &[], b"").0 == 200
    });
    dev
}
