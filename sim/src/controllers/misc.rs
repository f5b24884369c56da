//! Small controllers (SIM_SPEC §5.7, §1 CRDs): Service load balancers, PVC binding, Ingress
//! addresses, CronJobs and CRD establishment.

use crate::apiserver::Cluster;
use crate::store::ObjKey;

pub fn reconcile_service(_c: &mut Cluster, _key: &ObjKey) {}
pub fn reconcile_pvc(_c: &mut Cluster, _key: &ObjKey) {}
pub fn reconcile_ingress(_c: &mut Cluster, _key: &ObjKey) {}
pub fn reconcile_cronjob(_c: &mut Cluster, _key: &ObjKey) {}
pub fn reconcile_crd(_c: &mut Cluster, _key: &ObjKey) {}

/// Rebuilds the registry's custom kinds from the established CRDs in the store.
pub fn refresh_custom_types(_c: &mut Cluster) {}
