//! A DNS resolver for the HTTP client that looks each host up once per
//! process.
//!
//! Input: host names reqwest needs connections to. Output: their socket
//! addresses. Why: a cold lock opens dozens of connections to the same two
//! hosts at once, and with the system resolver each one is a separate
//! `getaddrinfo`; on networks that drop the odd UDP reply, every extra
//! lookup is another chance of glibc's 5-second retry. Concurrent lookups of
//! one host share a single query; failures are not cached, so a retry
//! really asks again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;

#[derive(Default)]
pub struct CachingResolver {
    hosts: Mutex<HashMap<String, Arc<OnceCell<Vec<SocketAddr>>>>>,
}

impl Resolve for CachingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let entry = self
            .hosts
            .lock()
            .expect("resolver cache lock")
            .entry(host.clone())
            .or_default()
            .clone();
        Box::pin(async move {
            let addresses = entry
                .get_or_try_init(|| async {
                    let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
                    Ok::<_, std::io::Error>(found.collect::<Vec<_>>())
                })
                .await?;
            let addresses: Addrs = Box::new(addresses.clone().into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[tokio::test]
    async fn resolves_once_and_shares_the_answer() {
        let resolver = CachingResolver::default();
        let first: Vec<SocketAddr> = resolver
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!first.is_empty());
        let second: Vec<SocketAddr> = resolver
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(first, second);
        assert_eq!(resolver.hosts.lock().unwrap().len(), 1);
    }
}
