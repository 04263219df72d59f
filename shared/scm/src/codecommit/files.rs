//! A repository's files at a commit, for the trigger's in-repo config:
//! `GetFile` reads one file, `GetFolder` lists one folder (CodeCommit has no
//! recursive tree listing, so a folder's subfolders are listed in turn).

use skiff_core::ports::{PortError, PortResult};

use super::{CodeCommitScm, port_error};

/// A bound on the folders one listing walks, so a deep (or misbehaving)
/// tree cannot loop us; the in-repo config reads at most 100 files anyway.
const MAX_FOLDERS: usize = 100;

/// CodeCommit names paths from the root without a leading slash, but
/// accepts and sometimes echoes one: compare them without it.
fn from_root(path: &str) -> &str {
    path.trim_start_matches('/')
}

impl CodeCommitScm {
    /// The text of `path` at `commit` (`GetFile`); `None` if there is no
    /// such file there.
    pub(super) async fn get_file(
        &self,
        repo: &str,
        path: &str,
        commit: &str,
    ) -> PortResult<Option<String>> {
        let op = format!("GetFile {repo}:{path}@{commit}");
        let out = match self
            .client
            .get_file()
            .repository_name(repo)
            .commit_specifier(commit)
            .file_path(path)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_file_does_not_exist_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(port_error(&op, e)),
        };
        let bytes = out.file_content().as_ref();
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| PortError::Rejected(format!("CodeCommit {op}: not UTF-8 text").into()))
    }

    /// Every file under `folder` at `commit`, by its path from the root,
    /// walking subfolders (`GetFolder` each); `None` if there is no such
    /// folder.
    pub(super) async fn get_folder_files(
        &self,
        repo: &str,
        folder: &str,
        commit: &str,
    ) -> PortResult<Option<Vec<String>>> {
        let mut files = Vec::new();
        let mut pending = vec![from_root(folder).to_owned()];
        let mut listed = 0;
        while let Some(path) = pending.pop() {
            listed += 1;
            if listed > MAX_FOLDERS {
                return Err(PortError::Rejected(
                    format!(
                        "CodeCommit GetFolder {repo}:{folder}@{commit}: more than {MAX_FOLDERS} \
                         folders"
                    )
                    .into(),
                ));
            }
            let op = format!("GetFolder {repo}:{path}@{commit}");
            let out = match self
                .client
                .get_folder()
                .repository_name(repo)
                .commit_specifier(commit)
                .folder_path(&path)
                .send()
                .await
            {
                Ok(out) => out,
                // Only the folder asked for can be missing; a subfolder the
                // listing named is there.
                Err(e)
                    if listed == 1
                        && e.as_service_error()
                            .is_some_and(|s| s.is_folder_does_not_exist_exception()) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(port_error(&op, e)),
            };
            files.extend(
                out.files()
                    .iter()
                    .filter_map(|f| f.absolute_path())
                    .map(|p| from_root(p).to_owned()),
            );
            pending.extend(
                out.sub_folders()
                    .iter()
                    .filter_map(|f| f.absolute_path())
                    .map(|p| from_root(p).to_owned()),
            );
        }
        files.sort();
        Ok(Some(files))
    }
}
