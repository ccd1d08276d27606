//! Work the server does besides answering requests.
//!
//! - **Periodic jobs** (scoring, the forecast cycle, ...): each runs through
//!   [`neuracrm_jobs::schedule::run_periodic`], which claims every time slot
//!   through the database, so any number of instances over one database run
//!   each slot once. Enabled by `Settings::scheduler`.
//! - **Event subscribers**: downstream work triggered by writes (an activity
//!   with customer text gets its sentiment, a won deal invalidates cached
//!   forecasts). They run whether or not the scheduler does.
//!
//! Every task is aborted when the [`Background`] is dropped, so a test that
//! drops its app leaves nothing running.

use tokio::task::JoinHandle;

use crate::AppState;

/// The running background tasks; dropping it stops them.
#[derive(Debug, Default)]
pub struct Background {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Background {
    /// Starts every background task of `state`.
    pub fn spawn(state: &AppState) -> Background {
        let mut bg = Background::default();
        if state.settings.scheduler {
            let instance = neuracrm_jobs::schedule::instance_name();
            // Periodic jobs register here.
            bg.add(
                "score_leads",
                crate::scoring::spawn_periodic(state, &instance),
            );
        }
        // Event subscribers register here.
        bg.add("sentiment", crate::sentiment::spawn_subscriber(state));
        crate::routes::forecast::spawn_background(state, &mut bg);
        bg
    }

    /// Adds a task under `name` (for logs and [`Background::names`]).
    pub fn add(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.tasks.push((name, task));
    }

    /// The names of the running tasks.
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks.iter().map(|(n, _)| *n).collect()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for (_, t) in &self.tasks {
            t.abort();
        }
    }
}
