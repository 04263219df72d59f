//! Prow's external plugins: HTTP services hook forwards events to.

use crate::config::plugins::ExternalPlugin;

/// Prow ships needs-rebase as an external plugin; Skiff runs it in-process.
/// An entry named `needs-rebase` whose endpoint is empty or Prow's default
/// in-cluster service stands for the built-in, not a URL to call.
pub fn is_builtin(plugin: &ExternalPlugin) -> bool {
    plugin.name == "needs-rebase" && matches!(plugin.endpoint.as_str(), "" | "http://needs-rebase")
}
