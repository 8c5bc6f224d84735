//! `marketplace`: runs the three services together or one at a time, migrates their
//! databases, manages their keys, and seeds demo data.

use clap::{Parser, Subcommand};
use shared::config::{Config, ServiceName};
use std::path::PathBuf;

/// mimalloc rather than the system allocator: profiles of the checkout showed glibc's
/// malloc and free at about 15 % of all CPU across the three services' threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod demo;
mod demo_lock;
mod outbox;
mod run;
mod tour;

#[derive(Parser)]
#[command(name = "marketplace", version, about = "Anonymous marketplace with a brokered settlement gateway")]
struct Cli {
    /// TOML configuration file (defaults run everything on this machine under ./data).
    #[arg(long, global = true, env = "MARKETPLACE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run broker, settlement and delivery in one process (SQLite under the data dir).
    Up {
        /// Load the demo market on first start, beside the running services (a failed
        /// load is logged; the services keep running).
        #[arg(long)]
        demo: bool,
    },
    /// Run one service (for separate machines, typically with PostgreSQL URLs).
    Serve {
        #[arg(value_parser = parse_service)]
        service: ServiceName,
    },
    /// Apply pending migrations to the services' databases and exit.
    Migrate {
        /// Only this service (default: all three).
        #[arg(long, value_parser = parse_service)]
        service: Option<ServiceName>,
    },
    /// Manage signing and sealing keys in the data dir.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Load the demo data into running services (once; a second loader waits, then
    /// reports it loaded).
    Demo,
    /// Play one purchase from search to remittance in a fresh in-process market and print
    /// what each party and each database knows about it.
    Tour,
    /// Re-derive every ledger balance from its entries and report any difference
    /// (exits non-zero when the ledger does not reconcile).
    Reconcile,
    /// Read and act on the messages the services have not delivered.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Drive complete checkouts with concurrent buyers and report throughput and latency
    /// (`--scenario ledger`: balance reads and payments as the ledger grows).
    Bench(Box<bench::BenchArgs>),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create every missing key (services also do this on first start).
    Init,
    /// Add a new signing key for a service; older keys stay published until removed.
    Rotate {
        #[arg(value_parser = parse_service)]
        service: ServiceName,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Print the messages in a status (default `dead`), oldest first, one JSON line each.
    List {
        /// Only this service (default: all three).
        #[arg(long, value_parser = parse_service)]
        service: Option<ServiceName>,
        /// `dead` or `pending`.
        #[arg(long, default_value = "dead", value_parser = parse_status)]
        status: shared::outbox::MessageStatus,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Make a dead or waiting message due now, with the whole retry span again (once its
    /// cause is fixed).
    Retry { message_id: String },
    /// Give a dead message up for good: the later messages of its order go on.
    Discard { message_id: String },
}

fn parse_status(s: &str) -> Result<shared::outbox::MessageStatus, String> {
    use shared::outbox::MessageStatus;
    match s.parse() {
        Ok(status @ (MessageStatus::Dead | MessageStatus::Pending)) => Ok(status),
        _ => Err(format!("`{s}` is not one of dead, pending")),
    }
}

fn parse_service(s: &str) -> Result<ServiceName, String> {
    ServiceName::parse(s).ok_or_else(|| format!("`{s}` is not one of broker, settlement, delivery"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    shared::telemetry::init(config.log_json);
    shared::files::create_own_dir(&config.data_dir)?;
    match cli.command {
        Command::Up { demo } => run::up(config, demo).await,
        Command::Serve { service } => run::serve(config, service).await,
        Command::Migrate { service } => run::migrate(&config, service),
        Command::Keys { command: KeysCommand::Init } => run::keys_init(&config),
        Command::Keys { command: KeysCommand::Rotate { service } } => {
            let kid = shared::crypto::KeyRing::rotate(&config.data_dir, service.as_str())?;
            println!("{service}: new signing key {kid}; restart the service to sign with it");
            Ok(())
        }
        Command::Demo => demo::seed(&config).await,
        Command::Tour => tour::run().await,
        Command::Reconcile => run::reconcile(&config),
        Command::Outbox { command: OutboxCommand::List { service, status, limit } } => {
            outbox::list(&config, service, status, limit)
        }
        Command::Outbox { command: OutboxCommand::Retry { message_id } } => {
            outbox::act(&config, &message_id, outbox::Action::Retry)
        }
        Command::Outbox { command: OutboxCommand::Discard { message_id } } => {
            outbox::act(&config, &message_id, outbox::Action::Discard)
        }
        Command::Bench(args) => bench::run(*args).await,
    }
}
