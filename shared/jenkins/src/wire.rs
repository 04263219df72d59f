//! Jenkins' JSON shapes (`api/json` with a `tree`), read into the port's
//! types the way Prow's `Build` reads them: a build is running while
//! `building` or without a result; only items and builds with a
//! `PROW_JOB_ID` parameter are Prow's.

use jiff::Timestamp;
use serde::Deserialize;
use skiff_core::ports::{JenkinsBuild, JenkinsStatus};

/// The `tree` of a queue listing: what [`queue`] reads, nothing more.
pub(crate) const QUEUE_TREE: &str = "items[id,why,actions[parameters[name,value]]]";
/// The `tree` of a job's builds: what [`builds`] reads, nothing more.
pub(crate) const BUILDS_TREE: &str =
    "builds[number,result,building,timestamp,actions[parameters[name,value]]]";

#[derive(Deserialize)]
struct Action {
    #[serde(default)]
    parameters: Vec<Parameter>,
}

#[derive(Deserialize)]
struct Parameter {
    #[serde(default)]
    name: String,
    /// Not always a string (booleans, files): those are not Prow's.
    #[serde(default)]
    value: serde_json::Value,
}

/// `PROW_JOB_ID` and `BUILD_ID`, when the actions carry a `PROW_JOB_ID`.
fn ids(actions: &[Option<Action>]) -> Option<(String, String)> {
    let parameters = || actions.iter().flatten().flat_map(|a| &a.parameters);
    let string = |name: &str| {
        parameters()
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_str().map(str::to_string))
    };
    let id = string("PROW_JOB_ID").filter(|id| !id.is_empty())?;
    Some((id, string("BUILD_ID").unwrap_or_default()))
}

#[derive(Deserialize)]
struct Queue {
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    id: u64,
    #[serde(default)]
    why: Option<String>,
    #[serde(default)]
    actions: Vec<Option<Action>>,
}

/// Queue items of Prow jobs.
pub(crate) fn queue(body: &[u8]) -> Result<Vec<JenkinsBuild>, serde_json::Error> {
    let queue: Queue = serde_json::from_slice(body)?;
    Ok(queue
        .items
        .into_iter()
        .filter_map(|item| {
            let (prow_job_id, build_id) = ids(&item.actions)?;
            Some(JenkinsBuild {
                prow_job_id,
                build_id,
                number: None,
                status: JenkinsStatus::Queued {
                    item: item.id,
                    why: item.why.unwrap_or_default(),
                },
                started: None,
            })
        })
        .collect())
}

#[derive(Deserialize)]
struct Job {
    #[serde(default)]
    builds: Vec<Build>,
}

#[derive(Deserialize)]
struct Build {
    number: u64,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    building: bool,
    /// Milliseconds since the epoch.
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    actions: Vec<Option<Action>>,
}

/// Builds of Prow jobs.
pub(crate) fn builds(body: &[u8]) -> Result<Vec<JenkinsBuild>, serde_json::Error> {
    let job: Job = serde_json::from_slice(body)?;
    Ok(job
        .builds
        .into_iter()
        .filter_map(|b| {
            let (prow_job_id, build_id) = ids(&b.actions)?;
            // Prow's IsRunning: `building` first, for matrix builds whose
            // result is set while cells still run.
            let status = match b.result {
                Some(result) if !b.building => JenkinsStatus::Finished { result },
                _ => JenkinsStatus::Running,
            };
            Some(JenkinsBuild {
                prow_job_id,
                build_id,
                number: Some(b.number),
                status,
                started: b
                    .timestamp
                    .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            })
        })
        .collect())
}

#[derive(Deserialize)]
struct Crumb {
    crumb: String,
    #[serde(rename = "crumbRequestField")]
    field: String,
}

/// `crumbIssuer/api/json`: the header to send and its value.
pub(crate) fn crumb(body: &[u8]) -> Result<(String, String), serde_json::Error> {
    let c: Crumb = serde_json::from_slice(body)?;
    Ok((c.field, c.crumb))
}

/// The queue item id of a `Location: …/queue/item/<id>/`.
pub(crate) fn queue_item(location: &str) -> Option<u64> {
    let rest = &location[location.rfind("/queue/item/")? + "/queue/item/".len()..];
    rest.trim_end_matches('/').parse().ok()
}

/// Whether Jenkins refused a POST for its crumb (its 403 page says
/// "No valid crumb was included in the request").
pub(crate) fn mentions_crumb(body: &str) -> bool {
    body.to_ascii_lowercase().contains("crumb")
}

/// The start of an error page, on one line, for a message: `: <text>`.
pub(crate) fn snippet(body: &str) -> String {
    const MAX: usize = 200;
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return String::new();
    }
    let cut: String = text.chars().take(MAX).collect();
    format!(": {cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_items_without_prow_job_id_are_not_prows() {
        let body = br#"{"_class":"hudson.model.Queue","items":[
            {"id":7,"why":"Waiting for next available executor","actions":[{},{"_class":"hudson.model.ParametersAction","parameters":[{"name":"PROW_JOB_ID","value":"pj"},{"name":"BUILD_ID","value":"42"}]}]},
            {"id":8,"why":null,"actions":[{"parameters":[{"name":"OTHER","value":"x"}]}]},
            {"id":9,"actions":[null,{"parameters":[{"name":"PROW_JOB_ID","value":true}]}]}
        ]}"#;
        let items = queue(body).unwrap();
        assert_eq!(
            items,
            vec![JenkinsBuild {
                prow_job_id: "pj".into(),
                build_id: "42".into(),
                number: None,
                status: JenkinsStatus::Queued {
                    item: 7,
                    why: "Waiting for next available executor".into()
                },
                started: None,
            }]
        );
    }

    /// Prow's `IsRunning`, `IsSuccess` …: `building` wins over a result.
    #[test]
    fn builds_are_running_while_building_or_without_a_result() {
        let body = br#"{"builds":[
            {"number":3,"result":null,"building":true,"timestamp":1700000000000,"actions":[{"parameters":[{"name":"PROW_JOB_ID","value":"a"}]}]},
            {"number":2,"result":"SUCCESS","building":true,"actions":[{"parameters":[{"name":"PROW_JOB_ID","value":"b"}]}]},
            {"number":1,"result":"UNSTABLE","building":false,"actions":[{"parameters":[{"name":"PROW_JOB_ID","value":"c"},{"name":"BUILD_ID","value":"9"}]}]},
            {"number":0,"result":"SUCCESS","building":false,"actions":[]}
        ]}"#;
        let got = builds(body).unwrap();
        let statuses: Vec<(&str, &JenkinsStatus)> = got
            .iter()
            .map(|b| (b.prow_job_id.as_str(), &b.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("a", &JenkinsStatus::Running),
                ("b", &JenkinsStatus::Running),
                (
                    "c",
                    &JenkinsStatus::Finished {
                        result: "UNSTABLE".into()
                    }
                ),
            ]
        );
        assert_eq!(got[0].started, Timestamp::from_second(1_700_000_000).ok());
        assert_eq!(got[2].build_id, "9");
    }

    #[test]
    fn queue_item_ids_come_from_the_location_header() {
        assert_eq!(queue_item("https://ci/queue/item/123/"), Some(123));
        assert_eq!(queue_item("http://h/jenkins/queue/item/5"), Some(5));
        assert_eq!(queue_item("https://ci/job/x/"), None);
    }
}
