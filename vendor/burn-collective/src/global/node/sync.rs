use std::{
    collections::HashMap,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use burn_communication::{CommunicationChannel, Message, Protocol, ProtocolClient};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, RwLock};

use crate::{NodeId, node::base::NodeState};

/// Handles the status of sync requests from other nodes.
///
/// Patched for simclr (see `vendor/README.md`): burn-collective 0.21.0 kept the nodes
/// that had synced in a list that was never cleared (the copy was), so every sync after
/// the first waited forever, and a notification between its check and its wait was lost.
/// Here each node counts the sync requests it received from every other node, and the
/// n-th sync of a node returns once every other node has sent n.
pub(crate) struct SyncService<P: Protocol> {
    node_state: Arc<RwLock<Option<NodeState>>>,
    received: Mutex<HashMap<NodeId, u64>>,
    rounds: Mutex<u64>,
    sync_notif: Notify,
    _p: PhantomData<P>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SyncRequest(NodeId);

impl<P: Protocol> SyncService<P> {
    pub fn new(node_state: Arc<RwLock<Option<NodeState>>>) -> Self {
        Self {
            node_state,
            received: Mutex::new(HashMap::new()),
            rounds: Mutex::new(0),
            sync_notif: Notify::new(),
            _p: PhantomData,
        }
    }

    /// Waits until every node has reached this sync point as many times as this one.
    pub async fn sync(&self) {
        // we can't sync while we register
        let node_state = self.node_state.read().await;
        let node_state = node_state
            .as_ref()
            .expect("Trying to sync a node before having registered to the orchestrator");
        let round = {
            let mut rounds = self.rounds.lock().unwrap();
            *rounds += 1;
            *rounds
        };

        for (id, addr) in &node_state.nodes {
            if *id == node_state.node_id {
                continue;
            }
            let mut connection = P::Client::connect(addr.clone(), "sync")
                .await
                .expect("Couldn't connect to peer for sync");
            let msg = SyncRequest(node_state.node_id);
            let sync_bytes = rmp_serde::to_vec(&msg).unwrap();
            connection
                .send(Message::new(sync_bytes.into()))
                .await
                .expect("Peer closed connection unexpectedly");
        }

        loop {
            // Registered before the check, so that a request arriving in between wakes it.
            let mut notified = std::pin::pin!(self.sync_notif.notified());
            notified.as_mut().enable();
            {
                let received = self.received.lock().unwrap();
                let done = node_state
                    .nodes
                    .keys()
                    .filter(|id| **id != node_state.node_id)
                    .all(|id| received.get(id).copied().unwrap_or(0) >= round);
                if done {
                    return;
                }
            }
            notified.await;
        }
    }

    pub async fn handle_sync_connection<C: CommunicationChannel>(&self, mut channel: C) {
        let msg = channel.recv().await.unwrap();
        let Some(msg) = msg else {
            return;
        };
        let msg = rmp_serde::from_slice::<SyncRequest>(&msg.data).unwrap();
        *self.received.lock().unwrap().entry(msg.0).or_insert(0) += 1;
        self.sync_notif.notify_waiters();
    }
}
