//! `/__admin/*`: snapshots, reset and the request journal.

use super::{respond, Engine, JSON};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::request::Request;
use crate::response::{Change, Response};
use crate::snapshot::{self, Snapshot};
use crate::store::Store;

impl Engine {
    pub(super) fn put_snapshot(
        &mut self,
        body: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<Response, ApiError> {
        let ids = &mut self.ids;
        let snapshot = Snapshot::parse(body, &mut || new_id(ids.as_mut()))?;
        let store = snapshot.into_store();
        self.check_store_fits(&store)?;
        self.replace_store(store, changes);
        Ok(respond(200, JSON, snapshot::render(&self.store)))
    }

    pub(super) fn reset(&mut self, changes: &mut Vec<Change>) -> Response {
        // The rules first: the changes that rebuild the store carry them.
        self.rules = self.initial_rules.clone();
        self.replace_store(self.initial.clone(), changes);
        let total = self.store.total();
        respond(
            200,
            JSON,
            format!("{{\"total_resources_count\":{total}}}").into_bytes(),
        )
    }

    /// Swaps in a whole new store, reported as the changes that rebuild it.
    pub(super) fn replace_store(&mut self, store: Store, changes: &mut Vec<Change>) {
        self.store = store;
        changes.extend(self.rebuild_changes());
    }

    pub(super) fn requests(&self, request: &Request) -> Result<Response, ApiError> {
        let mut since = 0;
        let mut limit = None;
        for (key, value) in form_urlencoded::parse(request.query.as_bytes()) {
            let number = || {
                value.trim().parse::<u64>().map_err(|_| ApiError::BadQuery {
                    reason: format!("`{key}` must be a whole number; got `{value}`."),
                })
            };
            match key.as_ref() {
                "_since" => since = number()?,
                "_limit" => limit = Some(usize::try_from(number()?).unwrap_or(usize::MAX)),
                _ => {}
            }
        }
        let entries = self.journal.render(since, limit);
        Ok(respond(200, JSON, entries.to_string().into_bytes()))
    }
}
