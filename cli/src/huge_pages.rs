//! Transparent huge pages off for the commands that load a whole config and
//! exit (`check-config`, `plan`, `config push`).
//!
//! mimalloc backs its arenas with 2 MB pages where the kernel allows it, so
//! the peak memory of a config load followed how much of the arena was
//! touched, not how much was in use: on a test-infra-sized config ~30 MB of
//! the peak was partly used huge pages (README "Benchmarks", issue 21). The
//! long-running `skiff dev` keeps the kernel's default.

/// Asks the kernel to back this process's memory with 4 KB pages only. A
/// kernel that refuses leaves the default, which is only more memory.
#[cfg(target_os = "linux")]
pub fn disable() {
    // SAFETY: PR_SET_THP_DISABLE takes integers only and touches no memory
    // of this process; it sets a flag the kernel reads at page faults.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "transparent huge pages stay on"
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub fn disable() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The kernel reports the flag in /proc/self/status once it is set.
    #[test]
    fn the_kernel_reports_huge_pages_off_for_this_process() {
        super::disable();
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let line = status
            .lines()
            .find(|l| l.starts_with("THP_enabled:"))
            .expect("a kernel that reports THP_enabled (Linux 5.0+)");
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}
