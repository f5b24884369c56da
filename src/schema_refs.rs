//! The documents a chart's `values.schema.json` files refer to by URL.
//!
//! Helm compiles a schema with loaders for `http`, `https` and `file`
//! URLs, so a `$ref` to `https://…/_definitions.json` is fetched from the
//! user's machine while it validates the values. berth validates in
//! berthd, which reads nothing from the network or its own disk for a
//! chart: the client reads the documents ahead, as Helm's loaders would
//! ([`helm::unfetched_schema_reference`] names each in turn), and sends
//! them with the operation; every chart of the tree is given them
//! ([`attach`]) before it is validated.

use std::collections::HashMap;
use std::sync::Arc;

use berth_template::helm::{self, RemoteSchemas};

use crate::proto;

/// At most this many documents are read for one chart.
pub const MAX_DOCUMENTS: usize = 100;

/// At most this many bytes in all. They travel in the operation's header,
/// within the agent's message limit with the values (a schema of
/// Kubernetes' types is 1–2 MB).
pub const MAX_BYTES: u64 = 4 << 20;

/// The chart tree with only what schema validation reads: each chart's
/// metadata and schema, and its subcharts.
pub fn skeleton(chart: &helm::Chart) -> helm::Chart {
    helm::Chart {
        metadata: chart.metadata.clone(),
        schema: chart.schema.clone(),
        dependencies: chart.dependencies.iter().map(skeleton).collect(),
        ..helm::Chart::default()
    }
}

/// Give every chart of the tree the documents read.
pub fn attach(chart: &mut helm::Chart, remote: &Arc<RemoteSchemas>) {
    chart.remote_schemas = Arc::clone(remote);
    for sub in &mut chart.dependencies {
        attach(sub, remote);
    }
}

/// The documents as they travel to berthd.
pub fn to_proto(remote: &RemoteSchemas) -> HashMap<String, proto::RemoteSchema> {
    remote
        .iter()
        .map(|(url, read)| {
            let doc = match read {
                Ok(content) => proto::RemoteSchema {
                    content: content.clone(),
                    error: String::new(),
                },
                Err(error) => proto::RemoteSchema {
                    content: Vec::new(),
                    error: error.clone(),
                },
            };
            (url.clone(), doc)
        })
        .collect()
}

/// The documents as berthd received them.
pub fn from_proto(docs: HashMap<String, proto::RemoteSchema>) -> RemoteSchemas {
    docs.into_iter()
        .map(|(url, doc)| {
            let read = if doc.error.is_empty() {
                Ok(doc.content)
            } else {
                Err(doc.error)
            };
            (url, read)
        })
        .collect()
}
