//! The statefulset controller (SIM_SPEC §5).

use crate::apiserver::Cluster;
use crate::store::ObjKey;

pub fn reconcile(_c: &mut Cluster, _key: &ObjKey) {}
