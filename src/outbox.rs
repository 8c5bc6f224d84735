//! `marketplace outbox list|retry|discard`: an operator's hands on the services' outboxes,
//! in each service's own database (the services may be running: every change is one
//! conditional update that the dispatchers see on their next pass).

use anyhow::Context;
use shared::config::{Config, ServiceName};
use shared::db::{Db, DbError};
use shared::ids::MessageId;
use shared::outbox::{self, Discard, MessageStatus};

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
        let listed = db.read_blocking(move |c| outbox::list(c, status, limit).map_err(DbError::from))?;
        for m in listed {
            let mut line = serde_json::to_value(&m)?;
            line["service"] = service.as_str().into();
            println!("{line}");
        }
    }
    Ok(())
}

/// What an operator does to one undelivered message.
#[derive(Clone, Copy)]
pub enum Action {
    /// Due now, with the whole retry span again.
    Retry,
    /// Never sent; the later messages of its key go on (a dead message only).
    Discard,
}

/// Applies `action` to the message `id`, in whichever service holds it; an error when none
/// holds it in a state the action applies to.
pub fn act(config: &Config, id: &str, action: Action) -> anyhow::Result<()> {
    let id = MessageId::parse(id).map_err(|_| anyhow::anyhow!("`{id}` is not a message id (msg_…)"))?;
    for service in ServiceName::ALL {
        let db = open(config, service)?;
        let message = id.clone();
        // `None`: not this service's; `Some(Err)`: here, but the action does not apply.
        let done = db.write_blocking(move |c| {
            Ok::<_, DbError>(match action {
                Action::Retry => outbox::retry(c, &message)?.map(|_| Ok("due now")),
                Action::Discard => match outbox::discard(c, &message)? {
                    Discard::Discarded(_) => Some(Ok("discarded")),
                    Discard::NotDead(status) => Some(Err(format!("it is {status}, and only a dead message is"))),
                    Discard::Unknown => None,
                },
            })
        })?;
        match done {
            Some(Ok(done)) => {
                println!("{service}: {id} {done}");
                return Ok(());
            }
            Some(Err(why)) => anyhow::bail!("{service}: {id} not discarded: {why}"),
            None => {}
        }
    }
    anyhow::bail!("no service holds an undelivered message {id}")
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
                table::table.filter(table::id.eq(&id)).select(table::status).first(c).map_err(DbError::from)
            })
            .unwrap()
    }

    #[test]
    fn an_operator_discards_only_a_dead_message_and_revives_it() {
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
        // Pending again, it can no longer be discarded (it may yet arrive).
        assert!(act(&config, dead.as_str(), Action::Discard).is_err());
        assert_eq!(status_of(&config, &dead), MessageStatus::Pending);
    }

    #[test]
    fn a_discarded_message_is_never_listed_as_dead_again() {
        let (_dir, config, dead, _) = with_dead_message();
        let db = open(&config, ServiceName::Settlement).unwrap();
        let dead_now = || {
            db.read_blocking(|c| outbox::list(c, MessageStatus::Dead, 10).map_err(DbError::from))
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
