//! Things built from the config and kept while it stays the same: the
//! trigger's compiled patterns, the build clusters. The config source hands
//! out the same `Arc` until a new bundle is loaded, so "same config" is
//! pointer equality and costs nothing per event.

use std::sync::{Arc, Mutex, PoisonError};

use skiff_core::config::Config;

/// `T` derived from the current config, rebuilt when the config changes.
pub struct PerConfig<T> {
    current: Mutex<Option<(Arc<Config>, Arc<T>)>>,
}

impl<T> Default for PerConfig<T> {
    fn default() -> Self {
        PerConfig {
            current: Mutex::new(None),
        }
    }
}

impl<T> PerConfig<T> {
    /// The value for `config`, built by `build` if `config` is not the one
    /// the kept value was built from.
    pub fn get(&self, config: &Arc<Config>, build: impl FnOnce(&Config) -> T) -> Arc<T> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((c, value)) = &*current
            && Arc::ptr_eq(c, config)
        {
            return value.clone();
        }
        let value = Arc::new(build(config));
        *current = Some((config.clone(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_once_per_config_and_again_for_a_new_one() {
        let per = PerConfig::<usize>::default();
        let a = Arc::new(Config::default());
        let b = Arc::new(Config::default());
        let mut builds = 0;
        let mut get = |c: &Arc<Config>| {
            *per.get(c, |_| {
                builds += 1;
                builds
            })
        };
        assert_eq!(get(&a), 1);
        assert_eq!(get(&a), 1, "same config: kept");
        assert_eq!(get(&b), 2, "an equal but new config is a reload: rebuilt");
    }
}
