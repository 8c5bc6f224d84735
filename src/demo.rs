//! Demo data: a believable catalog, regional unions, stores, offers, nodes and couriers,
//! loaded through the public API of running services, once.

use shared::config::Config;

pub async fn seed(config: &Config) -> anyhow::Result<()> {
    let marker = config.data_dir.join("demo-loaded");
    if marker.exists() {
        println!("demo data already loaded");
        return Ok(());
    }
    // Filled in as the broker, settlement and delivery routes land.
    std::fs::write(&marker, b"")?;
    Ok(())
}
