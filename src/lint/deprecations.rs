//! Helm's `validateNoDeprecations` (pkg/chart/v2/lint/rules/deprecations.go):
//! a rendered object of a Kubernetes API version that is deprecated in the
//! Kubernetes version linted for gets client-go's deprecation warning.
//!
//! The table is the prerelease lifecycle of every kind client-go's scheme
//! registers (k8s.io/api v0.36.3, the version Helm v4.2.3 builds with:
//! `zz_generated.prerelease-lifecycle.go`), the kinds without a deprecation
//! left out, and the GA kinds whose lifecycle methods are written by hand
//! (core/v1's `ComponentStatus` and `Endpoints`, with their lists); kinds
//! the scheme does not know (CRDs' kinds) are never deprecated.

/// apiVersion, kind, deprecated in (major, minor), removed in, replacement
/// (apiVersion, kind).
type Lifecycle = (
    &'static str,
    &'static str,
    (u32, u32),
    Option<(u32, u32)>,
    Option<(&'static str, &'static str)>,
);

#[rustfmt::skip]
const LIFECYCLES: &[Lifecycle] = &[
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicy", (1, 35), Some((1, 38)), None),
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyBinding", (1, 35), Some((1, 38)), None),
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyBindingList", (1, 35), Some((1, 38)), None),
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyList", (1, 35), Some((1, 38)), None),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy", (1, 29), Some((1, 32)), None),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBinding", (1, 29), Some((1, 32)), None),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBindingList", (1, 29), Some((1, 32)), None),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyList", (1, 29), Some((1, 32)), None),
    ("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicy", (1, 37), Some((1, 40)), Some(("admissionregistration.k8s.io/v1", "MutatingAdmissionPolicy"))),
    ("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyBinding", (1, 37), Some((1, 40)), Some(("admissionregistration.k8s.io/v1", "MutatingAdmissionPolicyBinding"))),
    ("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyBindingList", (1, 37), Some((1, 40)), Some(("admissionregistration.k8s.io/v1", "MutatingAdmissionPolicyBindingList"))),
    ("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyList", (1, 37), Some((1, 40)), Some(("admissionregistration.k8s.io/v1", "MutatingAdmissionPolicyList"))),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", (1, 16), Some((1, 22)), Some(("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"))),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfigurationList", (1, 16), Some((1, 22)), Some(("admissionregistration.k8s.io/v1", "MutatingWebhookConfigurationList"))),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicy", (1, 31), Some((1, 34)), None),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding", (1, 31), Some((1, 34)), None),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBindingList", (1, 31), Some((1, 34)), None),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyList", (1, 31), Some((1, 34)), None),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", (1, 16), Some((1, 22)), Some(("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"))),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfigurationList", (1, 16), Some((1, 22)), Some(("admissionregistration.k8s.io/v1", "ValidatingWebhookConfigurationList"))),
    ("apps/v1beta1", "ControllerRevision", (1, 8), Some((1, 16)), Some(("apps/v1", "ControllerRevision"))),
    ("apps/v1beta1", "ControllerRevisionList", (1, 8), Some((1, 16)), Some(("apps/v1", "ControllerRevisionList"))),
    ("apps/v1beta1", "Deployment", (1, 8), Some((1, 16)), Some(("apps/v1", "Deployment"))),
    ("apps/v1beta1", "DeploymentList", (1, 8), Some((1, 16)), Some(("apps/v1", "DeploymentList"))),
    ("apps/v1beta1", "DeploymentRollback", (1, 8), Some((1, 16)), Some(("apps/v1", "DeploymentRollback"))),
    ("apps/v1beta1", "Scale", (1, 8), Some((1, 16)), Some(("autoscaling/v1", "Scale"))),
    ("apps/v1beta1", "StatefulSet", (1, 8), Some((1, 16)), Some(("apps/v1", "StatefulSet"))),
    ("apps/v1beta1", "StatefulSetList", (1, 8), Some((1, 16)), Some(("apps/v1", "StatefulSetList"))),
    ("apps/v1beta2", "ControllerRevision", (1, 9), Some((1, 16)), Some(("apps/v1", "ControllerRevision"))),
    ("apps/v1beta2", "ControllerRevisionList", (1, 9), Some((1, 16)), Some(("apps/v1", "ControllerRevisionList"))),
    ("apps/v1beta2", "DaemonSet", (1, 9), Some((1, 16)), Some(("apps/v1", "DaemonSet"))),
    ("apps/v1beta2", "DaemonSetList", (1, 9), Some((1, 16)), Some(("apps/v1", "DaemonSetList"))),
    ("apps/v1beta2", "Deployment", (1, 9), Some((1, 16)), Some(("apps/v1", "Deployment"))),
    ("apps/v1beta2", "DeploymentList", (1, 9), Some((1, 16)), Some(("apps/v1", "DeploymentList"))),
    ("apps/v1beta2", "ReplicaSet", (1, 9), Some((1, 16)), Some(("apps/v1", "ReplicaSet"))),
    ("apps/v1beta2", "ReplicaSetList", (1, 9), Some((1, 16)), Some(("apps/v1", "ReplicaSetList"))),
    ("apps/v1beta2", "Scale", (1, 9), Some((1, 16)), Some(("autoscaling/v1", "Scale"))),
    ("apps/v1beta2", "StatefulSet", (1, 9), Some((1, 16)), Some(("apps/v1", "StatefulSet"))),
    ("apps/v1beta2", "StatefulSetList", (1, 9), Some((1, 16)), Some(("apps/v1", "StatefulSetList"))),
    ("authentication.k8s.io/v1alpha1", "SelfSubjectReview", (1, 29), Some((1, 32)), None),
    ("authentication.k8s.io/v1beta1", "SelfSubjectReview", (1, 30), Some((1, 33)), None),
    ("authentication.k8s.io/v1beta1", "TokenReview", (1, 19), Some((1, 22)), Some(("authentication.k8s.io/v1", "TokenReview"))),
    ("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview", (1, 19), Some((1, 22)), Some(("authorization.k8s.io/v1", "LocalSubjectAccessReview"))),
    ("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview", (1, 19), Some((1, 22)), Some(("authorization.k8s.io/v1", "SelfSubjectAccessReview"))),
    ("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview", (1, 19), Some((1, 22)), Some(("authorization.k8s.io/v1", "SelfSubjectRulesReview"))),
    ("authorization.k8s.io/v1beta1", "SubjectAccessReview", (1, 19), Some((1, 22)), Some(("authorization.k8s.io/v1", "SubjectAccessReview"))),
    ("batch/v1beta1", "CronJob", (1, 21), Some((1, 25)), Some(("batch/v1", "CronJob"))),
    ("batch/v1beta1", "CronJobList", (1, 21), Some((1, 25)), Some(("batch/v1", "CronJobList"))),
    ("certificates.k8s.io/v1alpha1", "ClusterTrustBundle", (1, 34), Some((1, 37)), None),
    ("certificates.k8s.io/v1alpha1", "ClusterTrustBundleList", (1, 34), Some((1, 37)), None),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest", (1, 19), Some((1, 22)), Some(("certificates.k8s.io/v1", "CertificateSigningRequest"))),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequestList", (1, 19), Some((1, 22)), Some(("certificates.k8s.io/v1", "CertificateSigningRequestList"))),
    ("certificates.k8s.io/v1beta1", "ClusterTrustBundle", (1, 37), Some((1, 40)), None),
    ("certificates.k8s.io/v1beta1", "ClusterTrustBundleList", (1, 37), Some((1, 40)), None),
    ("certificates.k8s.io/v1beta1", "PodCertificateRequest", (1, 38), Some((1, 41)), None),
    ("certificates.k8s.io/v1beta1", "PodCertificateRequestList", (1, 38), Some((1, 41)), None),
    ("coordination.k8s.io/v1alpha2", "LeaseCandidate", (1, 35), Some((1, 38)), None),
    ("coordination.k8s.io/v1alpha2", "LeaseCandidateList", (1, 35), Some((1, 38)), None),
    ("coordination.k8s.io/v1beta1", "Lease", (1, 19), Some((1, 22)), Some(("coordination.k8s.io/v1", "Lease"))),
    ("coordination.k8s.io/v1beta1", "LeaseCandidate", (1, 36), Some((1, 39)), None),
    ("coordination.k8s.io/v1beta1", "LeaseCandidateList", (1, 36), Some((1, 39)), None),
    ("coordination.k8s.io/v1beta1", "LeaseList", (1, 19), Some((1, 22)), Some(("coordination.k8s.io/v1", "LeaseList"))),
    ("discovery.k8s.io/v1beta1", "EndpointSlice", (1, 21), Some((1, 25)), Some(("discovery.k8s.io/v1", "EndpointSlice"))),
    ("discovery.k8s.io/v1beta1", "EndpointSliceList", (1, 21), Some((1, 25)), Some(("discovery.k8s.io/v1", "EndpointSlice"))),
    ("events.k8s.io/v1beta1", "Event", (1, 22), Some((1, 25)), None),
    ("events.k8s.io/v1beta1", "EventList", (1, 22), Some((1, 25)), None),
    ("extensions/v1beta1", "DaemonSet", (1, 8), Some((1, 16)), Some(("apps/v1", "DaemonSet"))),
    ("extensions/v1beta1", "DaemonSetList", (1, 8), Some((1, 16)), Some(("apps/v1", "DaemonSetList"))),
    ("extensions/v1beta1", "Deployment", (1, 8), Some((1, 16)), Some(("apps/v1", "Deployment"))),
    ("extensions/v1beta1", "DeploymentList", (1, 8), Some((1, 16)), Some(("apps/v1", "DeploymentList"))),
    ("extensions/v1beta1", "DeploymentRollback", (1, 8), Some((1, 16)), None),
    ("extensions/v1beta1", "Ingress", (1, 14), Some((1, 22)), Some(("networking.k8s.io/v1", "Ingress"))),
    ("extensions/v1beta1", "IngressList", (1, 14), Some((1, 22)), Some(("networking.k8s.io/v1", "IngressList"))),
    ("extensions/v1beta1", "NetworkPolicy", (1, 9), Some((1, 16)), Some(("networking.k8s.io/v1", "NetworkPolicy"))),
    ("extensions/v1beta1", "NetworkPolicyList", (1, 9), Some((1, 16)), Some(("networking.k8s.io/v1", "NetworkPolicyList"))),
    ("extensions/v1beta1", "ReplicaSet", (1, 8), Some((1, 16)), Some(("apps/v1", "ReplicaSet"))),
    ("extensions/v1beta1", "ReplicaSetList", (1, 8), Some((1, 16)), Some(("apps/v1", "ReplicaSetList"))),
    ("extensions/v1beta1", "Scale", (1, 2), Some((1, 16)), None),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", (1, 23), Some((1, 26)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"))),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchemaList", (1, 23), Some((1, 26)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList"))),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration", (1, 23), Some((1, 26)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"))),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfigurationList", (1, 23), Some((1, 26)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList"))),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", (1, 26), Some((1, 29)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"))),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchemaList", (1, 26), Some((1, 29)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList"))),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration", (1, 26), Some((1, 29)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"))),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfigurationList", (1, 26), Some((1, 29)), Some(("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList"))),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", (1, 29), Some((1, 32)), Some(("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"))),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList", (1, 29), Some((1, 32)), Some(("flowcontrol.apiserver.k8s.io/v1", "FlowSchemaList"))),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", (1, 29), Some((1, 32)), Some(("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"))),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList", (1, 29), Some((1, 32)), Some(("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfigurationList"))),
    ("networking.k8s.io/v1beta1", "IPAddress", (1, 34), Some((1, 37)), None),
    ("networking.k8s.io/v1beta1", "IPAddressList", (1, 34), Some((1, 37)), None),
    ("networking.k8s.io/v1beta1", "Ingress", (1, 19), Some((1, 22)), Some(("networking.k8s.io/v1", "Ingress"))),
    ("networking.k8s.io/v1beta1", "IngressClass", (1, 19), Some((1, 22)), Some(("networking.k8s.io/v1", "IngressClassList"))),
    ("networking.k8s.io/v1beta1", "IngressClassList", (1, 19), Some((1, 22)), Some(("networking.k8s.io/v1", "IngressClassList"))),
    ("networking.k8s.io/v1beta1", "IngressList", (1, 19), Some((1, 22)), Some(("networking.k8s.io/v1", "IngressList"))),
    ("networking.k8s.io/v1beta1", "ServiceCIDR", (1, 34), Some((1, 37)), None),
    ("networking.k8s.io/v1beta1", "ServiceCIDRList", (1, 34), Some((1, 37)), None),
    ("node.k8s.io/v1beta1", "RuntimeClass", (1, 22), Some((1, 25)), None),
    ("node.k8s.io/v1beta1", "RuntimeClassList", (1, 22), Some((1, 25)), None),
    ("policy/v1beta1", "Eviction", (1, 22), Some((1, 25)), None),
    ("policy/v1beta1", "PodDisruptionBudget", (1, 21), Some((1, 25)), Some(("policy/v1", "PodDisruptionBudget"))),
    ("policy/v1beta1", "PodDisruptionBudgetList", (1, 21), Some((1, 25)), Some(("policy/v1", "PodDisruptionBudgetList"))),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "ClusterRole"))),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"))),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBindingList", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "ClusterRoleBindingList"))),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleList", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "ClusterRoleList"))),
    ("rbac.authorization.k8s.io/v1beta1", "Role", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "Role"))),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "RoleBinding"))),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBindingList", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "RoleBindingList"))),
    ("rbac.authorization.k8s.io/v1beta1", "RoleList", (1, 17), Some((1, 22)), Some(("rbac.authorization.k8s.io/v1", "RoleList"))),
    ("resource.k8s.io/v1alpha3", "DeviceTaintRule", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1alpha3", "DeviceTaintRuleList", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1alpha3", "ResourcePoolStatusRequest", (1, 39), Some((1, 42)), None),
    ("resource.k8s.io/v1alpha3", "ResourcePoolStatusRequestList", (1, 39), Some((1, 42)), None),
    ("resource.k8s.io/v1beta1", "DeviceClass", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "DeviceClassList", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "ResourceClaim", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "ResourceClaimList", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "ResourceClaimTemplate", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "ResourceClaimTemplateList", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "ResourceSlice", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta1", "ResourceSliceList", (1, 35), Some((1, 38)), None),
    ("resource.k8s.io/v1beta2", "DeviceClass", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "DeviceClassList", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "DeviceTaintRule", (1, 39), Some((1, 42)), None),
    ("resource.k8s.io/v1beta2", "DeviceTaintRuleList", (1, 39), Some((1, 42)), None),
    ("resource.k8s.io/v1beta2", "ResourceClaim", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "ResourceClaimList", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "ResourceClaimTemplate", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "ResourceClaimTemplateList", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "ResourceSlice", (1, 36), Some((1, 39)), None),
    ("resource.k8s.io/v1beta2", "ResourceSliceList", (1, 36), Some((1, 39)), None),
    ("scheduling.k8s.io/v1beta1", "PriorityClass", (1, 14), Some((1, 22)), Some(("scheduling.k8s.io/v1", "PriorityClass"))),
    ("scheduling.k8s.io/v1beta1", "PriorityClassList", (1, 14), Some((1, 22)), Some(("scheduling.k8s.io/v1", "PriorityClassList"))),
    ("storage.k8s.io/v1alpha1", "CSIStorageCapacity", (1, 21), Some((1, 24)), Some(("storage.k8s.io/v1beta1", "CSIStorageCapacity"))),
    ("storage.k8s.io/v1alpha1", "CSIStorageCapacityList", (1, 21), Some((1, 24)), Some(("storage.k8s.io/v1beta1", "CSIStorageCapacityList"))),
    ("storage.k8s.io/v1alpha1", "VolumeAttachment", (1, 21), Some((1, 24)), Some(("storage.k8s.io/v1", "VolumeAttachment"))),
    ("storage.k8s.io/v1alpha1", "VolumeAttachmentList", (1, 21), Some((1, 24)), Some(("storage.k8s.io/v1", "VolumeAttachmentList"))),
    ("storage.k8s.io/v1alpha1", "VolumeAttributesClass", (1, 32), Some((1, 35)), Some(("storage.k8s.io/v1", "VolumeAttributesClass"))),
    ("storage.k8s.io/v1alpha1", "VolumeAttributesClassList", (1, 32), Some((1, 35)), Some(("storage.k8s.io/v1", "VolumeAttributesClassList"))),
    ("storage.k8s.io/v1beta1", "CSIDriver", (1, 19), Some((1, 22)), Some(("storage.k8s.io/v1", "CSIDriver"))),
    ("storage.k8s.io/v1beta1", "CSIDriverList", (1, 19), Some((1, 22)), Some(("storage.k8s.io/v1", "CSIDriverList"))),
    ("storage.k8s.io/v1beta1", "CSINode", (1, 17), Some((1, 22)), Some(("storage.k8s.io/v1", "CSINode"))),
    ("storage.k8s.io/v1beta1", "CSINodeList", (1, 17), Some((1, 22)), Some(("storage.k8s.io/v1", "CSINode"))),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity", (1, 24), Some((1, 27)), Some(("storage.k8s.io/v1", "CSIStorageCapacity"))),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacityList", (1, 24), Some((1, 27)), Some(("storage.k8s.io/v1", "CSIStorageCapacityList"))),
    ("storage.k8s.io/v1beta1", "StorageClass", (1, 19), Some((1, 22)), Some(("storage.k8s.io/v1", "StorageClass"))),
    ("storage.k8s.io/v1beta1", "StorageClassList", (1, 19), Some((1, 22)), Some(("storage.k8s.io/v1", "StorageClassList"))),
    ("storage.k8s.io/v1beta1", "VolumeAttachment", (1, 19), Some((1, 22)), Some(("storage.k8s.io/v1", "VolumeAttachment"))),
    ("storage.k8s.io/v1beta1", "VolumeAttachmentList", (1, 19), Some((1, 22)), Some(("storage.k8s.io/v1", "VolumeAttachmentList"))),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClass", (1, 34), Some((1, 37)), Some(("storage.k8s.io/v1", "VolumeAttributesClass"))),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClassList", (1, 34), Some((1, 37)), Some(("storage.k8s.io/v1", "VolumeAttributesClassList"))),
    ("storagemigration.k8s.io/v1beta1", "StorageVersionMigration", (1, 38), Some((1, 41)), None),
    ("storagemigration.k8s.io/v1beta1", "StorageVersionMigrationList", (1, 38), Some((1, 41)), None),
    ("v1", "ComponentStatus", (1, 19), None, None),
    ("v1", "ComponentStatusList", (1, 19), None, None),
    ("v1", "Endpoints", (1, 33), None, Some(("discovery.k8s.io/v1", "EndpointSlice"))),
    ("v1", "EndpointsList", (1, 33), None, Some(("discovery.k8s.io/v1", "EndpointSliceList"))),
];

/// The warning for an object of `api_version`/`kind` linted for Kubernetes
/// `major.minor` (apiserver's `deprecation.IsDeprecated` and
/// `WarningMessage`), or `None`.
pub fn warning(api_version: &str, kind: &str, major: u32, minor: u32) -> Option<String> {
    let (_, _, deprecated, removed, replacement) = LIFECYCLES
        .iter()
        .find(|(v, k, ..)| *v == api_version && *k == kind)?;
    if *deprecated > (major, minor) && (major, minor) != (0, 0) {
        return None;
    }
    let mut out = format!(
        "{api_version} {kind} is deprecated in v{}.{}+",
        deprecated.0, deprecated.1
    );
    if let Some((ma, mi)) = removed {
        out.push_str(&format!(", unavailable in v{ma}.{mi}+"));
    }
    if let Some((v, k)) = replacement {
        out.push_str(&format!("; use {v} {k}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::warning;

    #[test]
    fn client_gos_words_for_a_deprecated_kind() {
        // What real Helm v4 says of Helm's own chart-with-deprecated-api.
        assert_eq!(
            warning("policy/v1beta1", "PodDisruptionBudget", 1, 36).as_deref(),
            Some(
                "policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget"
            )
        );
        assert_eq!(
            warning("policy/v1beta1", "PodDisruptionBudget", 1, 20),
            None
        );
        assert_eq!(warning("policy/v1", "PodDisruptionBudget", 1, 36), None);
        assert_eq!(warning("example.com/v1beta1", "Widget", 1, 36), None);
        // GA kinds deprecated by hand-written lifecycle methods (k8s.io/api
        // core/v1), found by difftest (lint).
        assert_eq!(
            warning("v1", "Endpoints", 1, 33).as_deref(),
            Some("v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice")
        );
        assert_eq!(warning("v1", "Endpoints", 1, 32), None);
        assert_eq!(
            warning("v1", "ComponentStatusList", 1, 20).as_deref(),
            Some("v1 ComponentStatusList is deprecated in v1.19+")
        );
    }
}
