//! How plugins reply (Prow's `pkg/plugins/respond.go` shapes): the answer
//! addressed to the commenter, then the comment it answers, quoted, inside a
//! `<details>` with a footer about the bot.

/// The footer under every reply.
pub const ABOUT_THIS_BOT: &str = "I am Skiff's bot: the commands I understand are listed on the `/command-help` page of this Prow's dashboard.";

/// Prow's `FormatResponse`: "@to: message", then `reason` folded away.
pub fn format_response(to: &str, message: &str, reason: &str) -> String {
    format!("@{to}: {message}\n\n<details>\n\n{reason}\n\n{ABOUT_THIS_BOT}\n</details>")
}

/// Prow's `FormatSimpleResponse`: a message and the footer, to no one.
pub fn format_simple_response(message: &str) -> String {
    format!("{message}\n\n<details>\n\n{ABOUT_THIS_BOT}\n</details>")
}

/// Prow's `FormatResponseRaw`: a reply to the comment `body` at `url` by
/// `login`, quoting it line by line.
pub fn format_response_raw(body: &str, url: &str, login: &str, reply: &str) -> String {
    let quoted: Vec<String> = body.split('\n').map(|l| format!(">{l}")).collect();
    let reason = format!("In response to [this]({url}):\n\n{}\n", quoted.join("\n"));
    format_response(login, reply, &reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_quotes_every_line_of_the_comment_it_answers() {
        let r = format_response_raw("/lgtm\nthanks", "https://x/1", "bob", "no.");
        assert!(
            r.starts_with(
                "@bob: no.\n\n<details>\n\nIn response to [this](https://x/1):\n\n>/lgtm\n>thanks\n"
            ),
            "{r}"
        );
        assert!(r.ends_with("</details>"));
    }
}
