//! The commit status: state mapping, the description with its `BaseSHA`
//! suffix, and which refusals are final.

use skiff_core::ports::PortError;
use skiff_core::prowjob::ProwJobState;

/// GitHub refuses longer descriptions.
const MAX_DESCRIPTION: usize = 140;
const ELIDE: &str = " ... ";
/// Tide reads the base SHA back from the description after the prow job is gone.
const BASE_SHA_DELIMITER: &str = " BaseSHA:";
/// U+2001 (EM QUAD): GitHub's UI collapses runs of ordinary spaces, and this
/// pads the suffix to a stable position on the right.
const PAD: char = '\u{2001}';

/// GitHub's status for a job state; aborted shows as a failure, as in Prow.
/// `scheduling` has none (the job is not triggered yet).
pub(crate) fn github_state(state: ProwJobState) -> Option<&'static str> {
    match state {
        ProwJobState::Triggered | ProwJobState::Pending => Some("pending"),
        ProwJobState::Success => Some("success"),
        ProwJobState::Failure | ProwJobState::Aborted => Some("failure"),
        ProwJobState::Error => Some("error"),
        ProwJobState::Scheduling => None,
    }
}

/// Prow's `ContextDescriptionWithBaseSha`: the description, cut in the middle
/// with `" ... "` when needed, followed by `" BaseSHA:<sha>"` left-padded with
/// U+2001 so that the whole is exactly 140 characters. Without a base SHA there
/// is no suffix and the description is only cut to fit in 140.
///
/// Lengths are in characters, which is what GitHub's limit counts. (Prow counts
/// UTF-8 bytes, so its three-byte padding stops short of 140 characters, and a
/// multi-byte description can be cut inside a character; for ASCII text longer
/// than the limit both give the same result.)
pub fn description_with_base_sha(description: &str, base_sha: &str) -> String {
    let mut suffix = String::new();
    if !base_sha.is_empty() {
        let sha_part = format!("{BASE_SHA_DELIMITER}{base_sha}");
        let used = description.chars().count() + sha_part.chars().count();
        suffix.extend(std::iter::repeat_n(
            PAD,
            MAX_DESCRIPTION.saturating_sub(used),
        ));
        suffix.push_str(&sha_part);
    }
    let room = MAX_DESCRIPTION.saturating_sub(suffix.chars().count());
    let mut out = truncate_middle(description, room);
    out.push_str(&suffix);
    out
}

/// `"really long messages"` → `"really ... messages"`, at most `max` characters.
fn truncate_middle(s: &str, max: usize) -> String {
    let len = s.chars().count();
    if len <= max {
        return s.to_owned();
    }
    if max < ELIDE.len() {
        return s.chars().take(max).collect();
    }
    let half = (max - ELIDE.len()) / 2;
    let head: String = s.chars().take(half).collect();
    let tail: String = s.chars().skip(len - half).collect();
    format!("{head}{ELIDE}{tail}")
}

/// Refusals crier swallows instead of retrying: the SHA is gone after a
/// force-push (`"message":"Not Found"`, "No commit found for SHA"), or the
/// context has reached GitHub's maximum number of statuses.
pub(crate) fn is_unrecoverable(e: &PortError) -> bool {
    let text = e.to_string();
    text.contains("maximum number of statuses")
        || text.contains(r#""message":"Not Found""#)
        || text.contains("No commit found for SHA")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "8d287a3aeae90fd0aef4a70009c715712ff302cd";

    #[test]
    fn states_map_as_prow_maps_them() {
        use ProwJobState::*;
        let cases = [
            (Triggered, Some("pending")),
            (Pending, Some("pending")),
            (Success, Some("success")),
            (Failure, Some("failure")),
            (Aborted, Some("failure")),
            (Error, Some("error")),
            (Scheduling, None),
        ];
        for (state, want) in cases {
            assert_eq!(github_state(state), want, "{state:?}");
        }
    }

    #[test]
    fn a_short_description_is_padded_to_exactly_140() {
        let d = description_with_base_sha("Job triggered.", SHA);
        assert_eq!(d.chars().count(), 140);
        let pads = 140 - "Job triggered.".len() - BASE_SHA_DELIMITER.len() - SHA.len();
        assert_eq!(
            d,
            format!(
                "Job triggered.{}{BASE_SHA_DELIMITER}{SHA}",
                "\u{2001}".repeat(pads)
            )
        );
    }

    #[test]
    fn a_long_description_is_cut_in_the_middle_to_fit_the_suffix() {
        let long: String = (0..300)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let d = description_with_base_sha(&long, SHA);
        assert_eq!(d.chars().count(), 140);
        // 140 - 49 (suffix) = 91 = 43 + 5 + 43.
        let want = format!(
            "{} ... {}{BASE_SHA_DELIMITER}{SHA}",
            &long[..43],
            &long[257..]
        );
        assert_eq!(d, want);
    }

    #[test]
    fn exactly_filling_the_limit_needs_no_padding_or_cut() {
        let fits = "x".repeat(140 - 49);
        assert_eq!(
            description_with_base_sha(&fits, SHA),
            format!("{fits}{BASE_SHA_DELIMITER}{SHA}")
        );
        let one_more = "x".repeat(140 - 48);
        let d = description_with_base_sha(&one_more, SHA);
        assert_eq!(d.chars().count(), 140);
        assert!(d.contains(" ... "));
    }

    #[test]
    fn without_a_base_sha_there_is_no_suffix() {
        assert_eq!(
            description_with_base_sha("Job succeeded.", ""),
            "Job succeeded."
        );
        let long = "y".repeat(300);
        let d = description_with_base_sha(&long, "");
        // (140 - 5) / 2 = 67 on each side: 139, as in Prow.
        assert_eq!(d, format!("{} ... {}", "y".repeat(67), "y".repeat(67)));
    }

    #[test]
    fn multibyte_descriptions_are_cut_between_characters() {
        let long = "é".repeat(200);
        let d = description_with_base_sha(&long, SHA);
        assert_eq!(d.chars().count(), 140);
        assert!(d.starts_with(&"é".repeat(43)));
    }

    #[test]
    fn only_final_refusals_are_swallowed() {
        let swallowed = [
            PortError::Rejected(
                r#"POST /x: HTTP 422: {"message":"No commit found for SHA: abc"}"#.into(),
            ),
            PortError::NotFound(r#"POST /x: HTTP 404: {"message":"Not Found"}"#.into()),
            PortError::Rejected(
                "This SHA and context has reached the maximum number of statuses.".into(),
            ),
        ];
        for e in swallowed {
            assert!(is_unrecoverable(&e), "{e}");
        }
        let kept = [
            PortError::Unavailable("POST /x: HTTP 502: bad gateway".into()),
            PortError::Rejected(r#"POST /x: HTTP 401: {"message":"Bad credentials"}"#.into()),
        ];
        for e in kept {
            assert!(!is_unrecoverable(&e), "{e}");
        }
    }
}
