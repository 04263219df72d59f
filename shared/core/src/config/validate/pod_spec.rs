//! Rules of a job's pod spec (Prow's `validatePodSpec`): containers, env, volumes
//! and mounts, none of them clashing with what decoration adds.

use k8s_openapi::api::core::v1 as core;

use super::{At, Validator};
use crate::config::jobs::UtilityConfig;
use crate::prowjob::ProwJobType;
use crate::prowjob::decorate::paths::{CODE_MOUNT, LOGS_MOUNT, TOOLS_MOUNT};
use crate::prowjob::decorate::podspec::{
    CODE_VOLUME, GCS_CREDENTIALS_VOLUME, LOGS_VOLUME,
    POD_UTILITY_CONTAINERS as POD_UTILS_CONTAINERS, S3_CREDENTIALS_VOLUME, TOOLS_VOLUME,
};
use crate::prowjob::jobspec::env_for_type;

/// Prow's `VolumeMounts`: names a job's own volumes may not take.
const DECORATION_VOLUMES: [&str; 5] = [
    LOGS_VOLUME,
    CODE_VOLUME,
    TOOLS_VOLUME,
    GCS_CREDENTIALS_VOLUME,
    S3_CREDENTIALS_VOLUME,
];
const TEST_CONTAINER_MOUNTS: [&str; 3] = [LOGS_VOLUME, CODE_VOLUME, TOOLS_VOLUME];
const TEST_CONTAINER_MOUNT_PATHS: [&str; 3] = [LOGS_MOUNT, CODE_MOUNT, TOOLS_MOUNT];

impl Validator<'_> {
    pub(super) fn pod_spec(
        &mut self,
        at: &At,
        spec: &core::PodSpec,
        u: &UtilityConfig,
        t: ProwJobType,
    ) {
        let decorated = u.decorate == Some(true);
        for (i, c) in spec.init_containers.iter().flatten().enumerate() {
            if c.restart_policy.as_deref() != Some("Always") {
                let idx = i.to_string();
                self.error(
                    at,
                    &["spec", "initContainers", &idx],
                    format!(
                        "pod spec may not use init containers (sidecar containers with restartPolicy: Always are supported): {}",
                        c.name
                    ),
                );
            }
        }
        let containers = &spec.containers;
        if containers.is_empty() {
            self.error(
                at,
                &["spec"],
                "pod spec must specify at least 1 container, found: 0",
            );
            return;
        }
        if containers.len() > 1 && !decorated {
            self.error(
                at,
                &["spec", "containers"],
                format!(
                    "pod utility decoration must be enabled to use multiple containers: {}",
                    containers.len()
                ),
            );
            return;
        }
        if containers.len() > 1 {
            let mut names: Vec<&str> = Vec::new();
            for (i, c) in containers.iter().enumerate() {
                let idx = i.to_string();
                let f = ["spec", "containers", idx.as_str(), "name"];
                if c.name.is_empty() {
                    self.error(
                        at,
                        &f,
                        "all containers must have names when there are several",
                    );
                } else if names.contains(&c.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("container named {:?} is defined more than once", c.name),
                    );
                } else if POD_UTILS_CONTAINERS.contains(&c.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("container name {} is reserved for decoration", c.name),
                    );
                }
                names.push(&c.name);
            }
        }
        let reserved_env = env_for_type(t);
        for (i, c) in containers.iter().enumerate() {
            let idx = i.to_string();
            let mut seen: Vec<&str> = Vec::new();
            for (k, e) in c.env.iter().flatten().enumerate() {
                let kdx = k.to_string();
                let f = [
                    "spec",
                    "containers",
                    idx.as_str(),
                    "env",
                    kdx.as_str(),
                    "name",
                ];
                if seen.contains(&e.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("env var named {:?} is defined more than once", e.name),
                    );
                }
                seen.push(&e.name);
                if reserved_env.contains(&e.name.as_str()) {
                    self.error(at, &f, format!("env {} is reserved: Prow sets it", e.name));
                }
            }
        }
        let mut volumes: Vec<&str> = Vec::new();
        let mut decoration_volumes: Vec<&str> = DECORATION_VOLUMES.to_vec();
        if let Some(dc) = &u.decoration_config {
            if let Some(o) = &dc.oauth_token_secret {
                decoration_volumes.push(&o.name);
            }
            decoration_volumes.extend(dc.ssh_key_secrets.iter().map(String::as_str));
        }
        for (i, v) in spec.volumes.iter().flatten().enumerate() {
            let idx = i.to_string();
            let f = ["spec", "volumes", idx.as_str(), "name"];
            if volumes.contains(&v.name.as_str()) {
                self.error(
                    at,
                    &f,
                    format!("volume named {:?} is defined more than once", v.name),
                );
            }
            volumes.push(&v.name);
            if decoration_volumes.contains(&v.name.as_str()) {
                self.error(
                    at,
                    &f,
                    format!("volume {} is reserved for decoration", v.name),
                );
            }
        }
        for (i, c) in containers.iter().enumerate() {
            let idx = i.to_string();
            for (k, m) in c.volume_mounts.iter().flatten().enumerate() {
                let kdx = k.to_string();
                let f = [
                    "spec",
                    "containers",
                    idx.as_str(),
                    "volumeMounts",
                    kdx.as_str(),
                ];
                if !volumes.contains(&m.name.as_str())
                    && !decoration_volumes.contains(&m.name.as_str())
                {
                    self.error(
                        at,
                        &f,
                        format!("volumeMount named {:?} is undefined", m.name),
                    );
                }
                if TEST_CONTAINER_MOUNTS.contains(&m.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("volumeMount name {} is reserved for decoration", m.name),
                    );
                }
                if TEST_CONTAINER_MOUNT_PATHS.contains(&m.mount_path.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!(
                            "mount {} at {} conflicts with decoration mount",
                            m.name, m.mount_path
                        ),
                    );
                }
            }
        }
    }
}
