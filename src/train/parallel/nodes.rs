//! Several machines: nodes joined through burn-collective's global level, a coordinator
//! (its orchestrator) that every node reaches, and each node's data service that the
//! others reach for the all-reduces between nodes.

use crate::error::PeerFailure;
use crate::{Error, Result};
use burn::collective::CollectiveConfig;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// This process's place among `nodes` machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan {
    /// Machines in all.
    pub nodes: usize,
    /// This machine (0 = the one whose first peer writes the run folder).
    pub rank: usize,
    /// `HOST:PORT` of the coordinator (`simclr coordinator`).
    pub coordinator: String,
    /// `HOST:PORT` where the other nodes reach this one's data service.
    pub node_address: String,
    /// How long to keep trying to reach the coordinator.
    pub connect_timeout: Duration,
}

impl NodePlan {
    /// Refuses plans that cannot work, naming the setting.
    pub fn validate(&self) -> Result<()> {
        if self.nodes < 2 || self.rank >= self.nodes {
            return Err(Error::invalid(
                "node_rank",
                format!(
                    "node rank {} of {} nodes: ranks run from 0 to nodes - 1, with at least two nodes",
                    self.rank, self.nodes
                ),
            ));
        }
        port_of(&self.coordinator, "coordinator")?;
        port_of(&self.node_address, "node_address")?;
        Ok(())
    }

    /// Where node `rank` is reached when no address is given: 127.0.0.1 and the port after
    /// the coordinator's plus the rank, so that several nodes can share one machine.
    pub fn default_node_address(coordinator: &str, rank: usize) -> Result<String> {
        let port = port_of(coordinator, "coordinator")? as usize + 1 + rank;
        Ok(format!("127.0.0.1:{port}"))
    }

    /// burn-collective's configuration for `local` peers on this node.
    pub fn collective_config(&self, local: usize) -> Result<CollectiveConfig> {
        let parse = |address: &str| {
            format!("ws://{address}")
                .parse()
                .map_err(|e: String| Error::invalid("coordinator", e))
        };
        Ok(CollectiveConfig::default()
            .with_num_devices(local)
            .with_num_nodes(self.nodes as u32)
            .with_global_address(parse(&self.coordinator)?)
            .with_node_address(parse(&self.node_address)?)
            .with_data_service_port(port_of(&self.node_address, "node_address")?))
    }

    /// Waits until the coordinator accepts a connection, or fails naming its address
    /// (burn-collective itself would retry forever).
    pub fn reach_coordinator(&self) -> Result<()> {
        let deadline = Instant::now() + self.connect_timeout;
        loop {
            let last = match connect_once(&self.coordinator) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(Error::Peer {
                    peer: self.rank,
                    peers: self.nodes,
                    failure: PeerFailure::CoordinatorUnreachable {
                        address: self.coordinator.clone(),
                        cause: last,
                        seconds: self.connect_timeout.as_secs(),
                    },
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn connect_once(address: &str) -> std::result::Result<(), String> {
    let addresses = address.to_socket_addrs().map_err(|e| e.to_string())?;
    let mut last = String::from("the name resolves to no address");
    for socket in addresses {
        match TcpStream::connect_timeout(&socket, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn port_of(address: &str, setting: &'static str) -> Result<u16> {
    address
        .rsplit_once(':')
        .and_then(|(host, port)| (!host.is_empty()).then_some(port))
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| Error::invalid(setting, format!("'{address}' is not HOST:PORT")))
}

/// Runs the coordinator of several nodes on `port` (every address of this machine,
/// 127.0.0.1 included) until the process is stopped.
pub fn run_coordinator(port: u16) -> Result<()> {
    // burn-collective logs a failed bind and returns; find out first, with the reason.
    TcpListener::bind(("0.0.0.0", port)).map_err(|e| Error::Io {
        path: format!("0.0.0.0:{port}").into(),
        source: e,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("the coordinator's runtime", e))?;
    runtime.block_on(burn_collective::start_global_orchestrator(port));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(coordinator: &str) -> NodePlan {
        NodePlan {
            nodes: 2,
            rank: 1,
            coordinator: coordinator.into(),
            node_address: "127.0.0.1:40001".into(),
            connect_timeout: Duration::from_millis(600),
        }
    }

    #[test]
    fn an_unreachable_coordinator_is_an_error_naming_it_in_bounded_time() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let start = Instant::now();
        let err = plan(&address).reach_coordinator().unwrap_err().to_string();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(
            err.contains(&format!("cannot reach the coordinator at {address}")),
            "{err}"
        );
        let listener = TcpListener::bind(&address).unwrap();
        assert!(plan(&address).reach_coordinator().is_ok());
        drop(listener);
    }

    #[test]
    fn plans_name_what_is_wrong() {
        assert!(plan("127.0.0.1:9000").validate().is_ok());
        let err = plan("localhost").validate().unwrap_err().to_string();
        assert!(err.contains("'localhost' is not HOST:PORT"), "{err}");
        let lone = NodePlan {
            rank: 2,
            ..plan("127.0.0.1:9000")
        };
        assert!(lone
            .validate()
            .unwrap_err()
            .to_string()
            .contains("node rank 2 of 2"));
    }
}
