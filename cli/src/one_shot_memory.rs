//! Memory settings for the commands that load a whole config and exit
//! (`check-config`, `plan`, `config push`), whose peak is what a user sees.
//!
//! - Transparent huge pages off: mimalloc backs its arenas with 2 MB pages
//!   where the kernel allows it, so the peak followed how much of the arena was
//!   touched, not how much was in use: on a test-infra-sized config ~30 MB of
//!   the peak was partly used huge pages.
//! - Freed memory handed back to the kernel within a millisecond: mimalloc
//!   keeps freed pages for a second by default (cheap reuse in a
//!   long-running process), and a config load frees as much as it keeps (each
//!   file's YAML tree, each job's pod spec once checked): ~17 MB of
//!   `check-config`'s peak. 1 ms, not 0: returning every page at once cost
//!   ~40 ms of system time for 1.5 MB less.
//!
//! The long-running `skiff dev` keeps both defaults. README "Benchmarks",
//! issue 21.

/// mimalloc's `mi_option_purge_delay` (position in `mi_option_t` of
/// mimalloc 3's `include/mimalloc.h`, which `libmimalloc-sys` builds; the
/// crate does not name it). Milliseconds before freed memory is returned.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays mapped (see the module's docs).
const PURGE_DELAY_MS: std::ffi::c_long = 1;

/// Both settings above. A kernel that refuses leaves its default, which is
/// only more memory.
pub fn lean() {
    // SAFETY: sets an integer option mimalloc reads at its next purge; no
    // memory of this process is touched.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    disable_huge_pages();
}

#[cfg(target_os = "linux")]
fn disable_huge_pages() {
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
fn disable_huge_pages() {}

#[cfg(test)]
mod tests {
    /// The option is the one mimalloc documents as the purge delay: 1000 ms
    /// unless the environment set it, 1 once [`super::lean`] ran.
    #[test]
    fn freed_memory_goes_back_at_once() {
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() && get() != super::PURGE_DELAY_MS {
            assert_eq!(get(), 1000, "mimalloc 3's default purge delay");
        }
        super::lean();
        assert_eq!(get(), 1);
    }

    /// The kernel reports the flag in /proc/self/status once it is set.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_reports_huge_pages_off_for_this_process() {
        super::lean();
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let line = status
            .lines()
            .find(|l| l.starts_with("THP_enabled:"))
            .expect("a kernel that reports THP_enabled (Linux 5.0+)");
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}
