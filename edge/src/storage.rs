//! The store of one namespace in its Durable Object's SQLite storage: one row
//! per item, written change by change, never the whole store at once.
//!
//! Each of the engine's changes is one storage operation ([`Storage::record`]):
//! `CreateType` inserts a row into `types`, `Create` one into `items`,
//! `Replace` updates an item's text in its row, `Delete` deletes the row,
//! `DropType` deletes a type with its items, `PutSingle` inserts or updates a
//! singular resource's row (in `singles`, a table added beside the others,
//! so a namespace stored before it keeps its rows), `ClearAll` deletes every
//! type, item and singular resource; `PutRule`
//! inserts a rule's row or updates its text in place, `DeleteRule` deletes
//! it, `ClearRules` deletes every rule. A row's rowid is past every other when
//! it is inserted, so ordering by rowid gives back the engine's creation
//! order of types, of items and of rules.
//!
//! A namespace whose storage has never been written starts from the seed
//! (the vars `FIXTURES` and `RULES`): [`Storage::begin`] writes the seed's
//! rows with a mark (a row in `started`), in one transaction, and from then
//! on the rows are the namespace's, whatever the seed becomes.

use mock_rest_core::{Change, Engine};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::{SqlStorage, SqlStorageValue, State};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS types (resource TEXT PRIMARY KEY NOT NULL);
    CREATE TABLE IF NOT EXISTS items (
        resource TEXT NOT NULL,
        id TEXT NOT NULL,
        item TEXT NOT NULL,
        PRIMARY KEY (resource, id)
    );
    CREATE TABLE IF NOT EXISTS rules (id TEXT PRIMARY KEY NOT NULL, rule TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS singles (resource TEXT PRIMARY KEY NOT NULL, item TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS started (once INTEGER PRIMARY KEY CHECK (once = 1));";

/// A row when the namespace has been written: the mark, or (in a namespace
/// stored before the mark existed) any type, singular resource or rule.
const BEGUN: &str = "SELECT 1 FROM started UNION ALL SELECT 1 FROM types
    UNION ALL SELECT 1 FROM singles UNION ALL SELECT 1 FROM rules LIMIT 1";
const MARK: &str = "INSERT OR IGNORE INTO started (once) VALUES (1)";

const LOAD: &str = "SELECT items.resource, items.id, items.item
    FROM items JOIN types ON types.resource = items.resource
    ORDER BY types.rowid, items.rowid";

const CREATE_TYPE: &str = "INSERT INTO types (resource) VALUES (?)";
const CREATE_ITEM: &str = "INSERT INTO items (resource, id, item) VALUES (?, ?, ?)";
const REPLACE_ITEM: &str = "UPDATE items SET item = ? WHERE resource = ? AND id = ?";
const DELETE_ITEM: &str = "DELETE FROM items WHERE resource = ? AND id = ?";
const DROP_TYPE: [&str; 2] = [
    "DELETE FROM items WHERE resource = ?",
    "DELETE FROM types WHERE resource = ?",
];
const CLEAR_ALL: [&str; 3] = [
    "DELETE FROM items",
    "DELETE FROM types",
    "DELETE FROM singles",
];
const LOAD_SINGLES: &str = "SELECT resource, item FROM singles ORDER BY rowid";
const PUT_SINGLE: &str = "INSERT INTO singles (resource, item) VALUES (?, ?)
    ON CONFLICT (resource) DO UPDATE SET item = excluded.item";
const LOAD_RULES: &str = "SELECT id, rule FROM rules ORDER BY rowid";
const PUT_RULE: &str = "INSERT INTO rules (id, rule) VALUES (?, ?)
    ON CONFLICT (id) DO UPDATE SET rule = excluded.rule";
const DELETE_RULE: &str = "DELETE FROM rules WHERE id = ?";
const CLEAR_RULES: &str = "DELETE FROM rules";

#[wasm_bindgen]
extern "C" {
    /// `ctx.storage` of a Durable Object, for the one call workers-rs does not wrap.
    type RawStorage;

    /// Runs the closure in a transaction: committed when it returns, rolled
    /// back when it throws.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &RawStorage,
        body: &mut dyn FnMut() -> Result<(), JsValue>,
    ) -> Result<JsValue, JsValue>;
}

/// One namespace's rows.
pub struct Storage {
    /// `ctx.storage` itself, for `transactionSync`.
    raw: JsValue,
    sql: SqlStorage,
}

impl Storage {
    /// The object's storage, with the tables created if they are not there yet.
    pub fn open(state: &State) -> worker::Result<Self> {
        let storage = state.storage();
        let sql = storage.sql();
        sql.exec(SCHEMA, None)?;
        Ok(Self {
            raw: AsRef::<JsValue>::as_ref(storage.as_raw()).clone(),
            sql,
        })
    }

    /// Replays every stored item into the engine, types and items in creation
    /// order, then every singular resource and every rule. Returns how many
    /// items there were.
    pub fn load(&self, engine: &mut Engine) -> worker::Result<usize> {
        let mut count = 0;
        for row in self.sql.exec(LOAD, None)?.raw() {
            let [resource, id, item] = text_columns(row?, "item")?;
            engine.apply(&Change::Create { resource, id, item });
            count += 1;
        }
        for row in self.sql.exec(LOAD_SINGLES, None)?.raw() {
            let [resource, item] = text_columns(row?, "singular resource")?;
            engine.apply(&Change::PutSingle { resource, item });
        }
        for row in self.sql.exec(LOAD_RULES, None)?.raw() {
            let [id, rule] = text_columns(row?, "rule")?;
            engine.apply(&Change::PutRule { id, rule });
        }
        Ok(count)
    }

    /// Whether the namespace has been written before (so its rows, not the
    /// seed, are its store).
    pub fn begun(&self) -> worker::Result<bool> {
        Ok(self.sql.exec(BEGUN, None)?.raw().next().is_some())
    }

    /// Writes the seed (the changes that rebuild the engine's store and
    /// rules) and the mark that the namespace has begun, all or none.
    pub fn begin(&self, seed: &[Change]) -> worker::Result<()> {
        self.transaction(seed, true)
    }

    /// Writes the changes of one request, all or none.
    pub fn record(&self, changes: &[Change]) -> worker::Result<()> {
        self.transaction(changes, false)
    }

    fn transaction(&self, changes: &[Change], mark: bool) -> worker::Result<()> {
        let raw: &RawStorage = self.raw.unchecked_ref();
        let mut failure = None;
        let mut body = || {
            let mut written = changes.iter().try_for_each(|change| self.write(change));
            if mark && written.is_ok() {
                written = self.sql.exec(MARK, None).map(drop);
            }
            if let Err(err) = written {
                failure = Some(err.to_string());
                return Err(JsValue::from_str("rolled back"));
            }
            Ok(())
        };
        match raw.transaction_sync(&mut body) {
            Ok(_) => Ok(()),
            Err(thrown) => Err(worker::Error::from(failure.unwrap_or_else(|| {
                thrown.as_string().unwrap_or_else(|| format!("{thrown:?}"))
            }))),
        }
    }

    fn write(&self, change: &Change) -> worker::Result<()> {
        let text = |value: &str| SqlStorageValue::String(value.to_owned());
        match change {
            Change::CreateType { resource } => {
                self.sql.exec(CREATE_TYPE, vec![text(resource)])?;
            }
            Change::Create { resource, id, item } => {
                self.sql
                    .exec(CREATE_ITEM, vec![text(resource), text(id), text(item)])?;
            }
            Change::Replace { resource, id, item } => {
                self.sql
                    .exec(REPLACE_ITEM, vec![text(item), text(resource), text(id)])?;
            }
            Change::Delete { resource, id } => {
                self.sql.exec(DELETE_ITEM, vec![text(resource), text(id)])?;
            }
            Change::DropType { resource } => {
                for statement in DROP_TYPE {
                    self.sql.exec(statement, vec![text(resource)])?;
                }
            }
            Change::ClearAll => {
                for statement in CLEAR_ALL {
                    self.sql.exec(statement, None)?;
                }
            }
            Change::PutSingle { resource, item } => {
                self.sql
                    .exec(PUT_SINGLE, vec![text(resource), text(item)])?;
            }
            Change::PutRule { id, rule } => {
                self.sql.exec(PUT_RULE, vec![text(id), text(rule)])?;
            }
            Change::DeleteRule { id } => {
                self.sql.exec(DELETE_RULE, vec![text(id)])?;
            }
            Change::ClearRules => {
                self.sql.exec(CLEAR_RULES, None)?;
            }
        }
        Ok(())
    }
}

/// The `N` text columns of a stored row (of an item or a rule: `what`).
fn text_columns<const N: usize>(
    row: Vec<SqlStorageValue>,
    what: &str,
) -> worker::Result<[String; N]> {
    let texts = row
        .into_iter()
        .map(|value| match value {
            SqlStorageValue::String(text) => Ok(text),
            other => Err(worker::Error::from(format!(
                "a stored {what} has a non-text column: {other:?}"
            ))),
        })
        .collect::<worker::Result<Vec<String>>>()?;
    texts.try_into().map_err(|texts: Vec<String>| {
        worker::Error::from(format!(
            "a stored {what} has {} columns, not {N}",
            texts.len()
        ))
    })
}
