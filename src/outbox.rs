//! `marketplace outbox list|retry|discard`: an operator's hands on the services' outboxes,
//! in each service's own database (the services may be running: every change is one
//! conditional update that the dispatchers see on their next pass).

use anyhow::Context;
use shared::config::{Config, ServiceName};
use shared::db::Db;
use shared::ids::MessageId;
use shared::outbox::{self, MessageStatus};

fn open(config: &Config, service: ServiceName) -> anyhow::Result<Db> {
    let migrations = crate::run::migrations_of(service);
    Db::open(&config.database_url(service), 1, migrations).with_context(|| format!("opening {service}'s database"))
}

fn services(only: Option<ServiceName>) -> impl Iterator<Item = ServiceName> {
    ServiceName::ALL.into_iter().filter(move |s| only.is_none_or(|o| o == *s))
}

/// Prints the messages in `status` of each service (or one), oldest first, as JSON lines.
pub fn list(config: &Config, only: Option<ServiceName>, status: MessageStatus, limit: i64) -> anyhow::Result<()> {
    for service in services(only) {
        let db = open(config, service)?;
        let listed = db.read_blocking(move |c| outbox::list(c, status, limit).map_err(shared::db::DbError::from))?;
        for m in listed {
            let mut line = serde_json::to_value(&m)?;
            line["service"] = service.as_str().into();
            println!("{line}");
        }
    }
    Ok(())
}

/// What an operator does to one dead message.
#[derive(Clone, Copy)]
pub enum Action {
    /// Pending again, with the whole retry span.
    Retry,
    /// Never sent; the later messages of its key go on.
    Discard,
}

/// Applies `action` to the dead message `id`, wherever it is; an error when no service
/// holds a dead message of that id.
pub fn act(config: &Config, id: &str, action: Action) -> anyhow::Result<()> {
    let id = MessageId::parse(id).map_err(|_| anyhow::anyhow!("`{id}` is not a message id (msg_…)"))?;
    for service in ServiceName::ALL {
        let db = open(config, service)?;
        let message = id.clone();
        let changed = db.write_blocking(move |c| {
            match action {
                Action::Retry => outbox::retry_dead(c, &message),
                Action::Discard => outbox::discard_dead(c, &message),
            }
            .map_err(shared::db::DbError::from)
        })?;
        if changed == 1 {
            let done = match action {
                Action::Retry => "pending again",
                Action::Discard => "discarded",
            };
            println!("{service}: {id} {done}");
            return Ok(());
        }
    }
    anyhow::bail!("no service holds a dead message {id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;
    use shared::schema::outbox as table;

    /// A market's data dir whose settlement outbox holds one dead message to the broker,
    /// with a later one of the same key behind it.
    fn with_dead_message() -> (tempfile::TempDir, Config, MessageId, MessageId) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        let db = open(&config, ServiceName::Settlement).unwrap();
        let (dead, behind) = db
            .write_blocking(|c| {
                let dead = outbox::enqueue(c, "broker", "ord_a", "order_paid", "{}")?;
                let behind = outbox::enqueue(c, "broker", "ord_a", "order_refunded", "{}")?;
                diesel::update(table::table.filter(table::id.eq(&dead)))
                    .set(table::status.eq(MessageStatus::Dead))
                    .execute(c)?;
                Ok::<_, shared::db::DbError>((dead, behind))
            })
            .unwrap();
        (dir, config, dead, behind)
    }

    fn status_of(config: &Config, id: &MessageId) -> MessageStatus {
        let id = id.clone();
        open(config, ServiceName::Settlement)
            .unwrap()
            .read_blocking(move |c| {
                table::table.filter(table::id.eq(&id)).select(table::status).first(c).map_err(shared::db::DbError::from)
            })
            .unwrap()
    }

    #[test]
    fn an_operator_revives_or_discards_only_a_dead_message() {
        let (_dir, config, dead, behind) = with_dead_message();
        // Only a dead message: the pending one behind it, an unknown id and a malformed one
        // are refused, and nothing changes.
        assert!(act(&config, behind.as_str(), Action::Discard).is_err());
        assert!(act(&config, MessageId::generate().as_str(), Action::Retry).is_err());
        assert!(act(&config, "msg_; DROP TABLE outbox", Action::Retry).is_err());
        assert_eq!(status_of(&config, &behind), MessageStatus::Pending);
        assert_eq!(status_of(&config, &dead), MessageStatus::Dead);

        act(&config, dead.as_str(), Action::Retry).unwrap();
        assert_eq!(status_of(&config, &dead), MessageStatus::Pending);
        // Pending again, it is no longer dead: a second retry finds nothing.
        assert!(act(&config, dead.as_str(), Action::Retry).is_err());
    }

    #[test]
    fn a_discarded_message_is_never_listed_as_dead_again() {
        let (_dir, config, dead, _) = with_dead_message();
        let db = open(&config, ServiceName::Settlement).unwrap();
        let dead_now = || {
            db.read_blocking(|c| outbox::list(c, MessageStatus::Dead, 10).map_err(shared::db::DbError::from))
                .unwrap()
                .into_iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(dead_now(), vec![dead.clone()]);
        act(&config, dead.as_str(), Action::Discard).unwrap();
        assert!(dead_now().is_empty());
        assert_eq!(status_of(&config, &dead), MessageStatus::Discarded);
        list(&config, None, MessageStatus::Pending, 10).unwrap();
    }
}
