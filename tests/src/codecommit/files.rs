//! `GetFile` and `GetFolder`, which moto (5.2.6) does not implement either:
//! the trigger reads a CodeCommit repository's in-repo config with them.
//! Shapes as the SDK's model has them: the file's content is a base64
//! blob; a folder lists its own files and subfolders (not recursively),
//! each by `absolutePath` from the root and `relativePath` from the folder.

use base64::Engine;
use serde_json::{Value, json};

use super::{CodeCommit, error};

fn files_at<'c>(
    cc: &'c CodeCommit,
    repo: &str,
    commit: &str,
) -> Result<&'c std::collections::BTreeMap<String, String>, (u16, Value)> {
    cc.files
        .get(&(repo.to_string(), commit.to_string()))
        .ok_or_else(|| {
            error(
                "CommitDoesNotExistException",
                &format!("Could not find commit {commit} in repository {repo}"),
            )
        })
}

pub(super) fn get_file(cc: &CodeCommit, b: &Value) -> (u16, Value) {
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    let (repo, commit) = (s("repositoryName"), s("commitSpecifier"));
    let path = s("filePath").trim_start_matches('/').to_string();
    let files = match files_at(cc, &repo, &commit) {
        Ok(f) => f,
        Err(e) => return e,
    };
    match files.get(&path) {
        Some(text) => (
            200,
            json!({
                "blobId": format!("blob-{path}"), "commitId": commit, "filePath": path,
                "fileMode": "NORMAL", "fileSize": text.len(),
                "fileContent": base64::engine::general_purpose::STANDARD.encode(text),
            }),
        ),
        None => error(
            "FileDoesNotExistException",
            &format!("The file {path} does not exist in commit {commit}"),
        ),
    }
}

pub(super) fn get_folder(cc: &CodeCommit, b: &Value) -> (u16, Value) {
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    let (repo, commit) = (s("repositoryName"), s("commitSpecifier"));
    let folder = s("folderPath").trim_matches('/').to_string();
    let files = match files_at(cc, &repo, &commit) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let mut own = Vec::new();
    let mut subfolders = std::collections::BTreeSet::new();
    for path in files.keys() {
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        match rest.split_once('/') {
            Some((sub, _)) => {
                subfolders.insert(sub.to_string());
            }
            None => own.push(json!({
                "absolutePath": path, "relativePath": rest,
                "blobId": format!("blob-{path}"), "fileMode": "NORMAL",
            })),
        }
    }
    if own.is_empty() && subfolders.is_empty() {
        return error(
            "FolderDoesNotExistException",
            &format!("The folder {folder} does not exist in commit {commit}"),
        );
    }
    let subfolders: Vec<Value> = subfolders
        .into_iter()
        .map(|sub| {
            json!({"absolutePath": format!("{prefix}{sub}"), "relativePath": sub,
                   "treeId": format!("tree-{prefix}{sub}")})
        })
        .collect();
    (
        200,
        json!({
            "commitId": commit, "folderPath": folder, "treeId": format!("tree-{folder}"),
            "files": own, "subFolders": subfolders, "symbolicLinks": [], "subModules": [],
        }),
    )
}
