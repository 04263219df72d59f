//! Where a function's HTTPS clients find their root certificates.
//!
//! rustls-native-certs (under the AWS SDK's client and octocrab's) reads the
//! system's CA bundle file *and* every file of its certificate directory
//! each time a client is built, unless `SSL_CERT_FILE` or `SSL_CERT_DIR` says
//! where to look. On the distributions a function runs on the directory holds
//! the bundle's certificates again (Debian's `update-ca-certificates` and
//! Amazon Linux's `update-ca-trust` build the bundle from the same roots), so
//! the walk is paid for nothing: ~1.6 ms a client here, before the first
//! event, and the trigger builds two (README "Benchmarks", issue 21). A
//! function therefore points it at the bundle file it would have read anyway.

use std::ffi::OsStr;
use std::path::PathBuf;

const CERT_FILE: &str = "SSL_CERT_FILE";
const CERT_DIR: &str = "SSL_CERT_DIR";

/// The bundle to read alone: the one openssl-probe finds (what
/// rustls-native-certs would read first), unless either variable is already
/// set — an operator's choice stands.
fn bundle_only(
    cert_file: Option<&OsStr>,
    cert_dir: Option<&OsStr>,
    probed: Option<PathBuf>,
) -> Option<PathBuf> {
    if cert_file.is_some() || cert_dir.is_some() {
        return None;
    }
    probed
}

/// Sets `SSL_CERT_FILE` to the system's CA bundle (see the module's docs).
///
/// # Safety
/// Changes the process's environment: call it first thing in `main`, while
/// the process has one thread (every function runs a current-thread runtime).
pub unsafe fn use_the_ca_bundle_alone() {
    let file = std::env::var_os(CERT_FILE);
    let dir = std::env::var_os(CERT_DIR);
    let probed = openssl_probe::probe().cert_file;
    if let Some(bundle) = bundle_only(file.as_deref(), dir.as_deref(), probed) {
        // SAFETY: the caller promises no other thread exists to read the
        // environment while it changes.
        unsafe { std::env::set_var(CERT_FILE, bundle) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operators_ssl_cert_variables_stand() {
        let probed = || Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
        let some = Some(OsStr::new("/opt/ca.pem"));
        let cases = [
            (None, None, probed(), probed()),
            (some, None, probed(), None),
            (None, some, probed(), None),
            (some, some, probed(), None),
            (None, None, None, None),
        ];
        for (file, dir, found, want) in cases {
            assert_eq!(bundle_only(file, dir, found), want, "{file:?} {dir:?}");
        }
    }

    /// On this machine, reading the bundle alone trusts every root that the
    /// bundle and the directory together do: nothing is lost by the switch.
    /// The one certificate Debian's directory adds is `ssl-cert-snakeoil.pem`,
    /// the host's own self-signed server certificate (package `ssl-cert`),
    /// not a root any server presents a chain to. Run in a child process of
    /// this test binary, which may change its environment.
    #[test]
    fn the_bundle_alone_holds_every_root_the_directory_adds() {
        const CHILD: &str = "SKIFF_TLS_ROOTS_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let all = rustls_native_certs::load_native_certs().certs;
            // SAFETY: this child process runs this one test on its own.
            unsafe { use_the_ca_bundle_alone() };
            let alone = rustls_native_certs::load_native_certs().certs;
            let snakeoil = std::path::Path::new("/etc/ssl/certs/ssl-cert-snakeoil.pem");
            let host_own = rustls_native_certs::load_certs_from_paths(Some(snakeoil), None).certs;
            let alone: std::collections::HashSet<_> = alone.iter().chain(&host_own).collect();
            let missing = all.iter().filter(|c| !alone.contains(c)).count();
            println!(
                "ROOTS all={} alone={} missing={missing}",
                all.len(),
                alone.len()
            );
            return;
        }
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "tls_roots::tests::the_bundle_alone_holds_every_root_the_directory_adds",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env_remove(CERT_FILE)
            .env_remove(CERT_DIR)
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.find("ROOTS ").map(|at| &l[at..]))
            .unwrap_or_else(|| panic!("no ROOTS line from the child:\n{stdout}"));
        let field = |name: &str| -> usize {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {line}"))
        };
        assert!(field("all=") > 0, "this machine has system roots: {line}");
        assert!(field("alone=") > 0, "{line}");
        assert_eq!(field("missing="), 0, "{line}");
    }
}
