// Written by scripts/write-k8s-scopes.ts from @kubernetes/client-node's API paths and kubernetes-models' kinds; do not edit.
// test/cluster-scope.test.ts fails when it is not what the installed packages give.

/** Built-in kinds by API group ("" is the core group): Cluster or Namespaced. */
export const BUILT_IN_SCOPES: Readonly<Record<string, Readonly<Record<string, 'Cluster' | 'Namespaced'>>>> = {
  '': {
    Binding: 'Namespaced',
    ComponentStatus: 'Cluster',
    ConfigMap: 'Namespaced',
    Endpoints: 'Namespaced',
    Event: 'Namespaced',
    LimitRange: 'Namespaced',
    Namespace: 'Cluster',
    Node: 'Cluster',
    PersistentVolume: 'Cluster',
    PersistentVolumeClaim: 'Namespaced',
    Pod: 'Namespaced',
    PodTemplate: 'Namespaced',
    ReplicationController: 'Namespaced',
    ResourceQuota: 'Namespaced',
    Secret: 'Namespaced',
    Service: 'Namespaced',
    ServiceAccount: 'Namespaced',
  },
  'admissionregistration.k8s.io': {
    MutatingWebhookConfiguration: 'Cluster',
    ValidatingAdmissionPolicy: 'Cluster',
    ValidatingAdmissionPolicyBinding: 'Cluster',
    ValidatingWebhookConfiguration: 'Cluster',
  },
  'apiextensions.k8s.io': {
    CustomResourceDefinition: 'Cluster',
  },
  'apiregistration.k8s.io': {
    APIService: 'Cluster',
  },
  apps: {
    ControllerRevision: 'Namespaced',
    DaemonSet: 'Namespaced',
    Deployment: 'Namespaced',
    ReplicaSet: 'Namespaced',
    StatefulSet: 'Namespaced',
  },
  'authentication.k8s.io': {
    SelfSubjectReview: 'Cluster',
    TokenReview: 'Cluster',
  },
  'authorization.k8s.io': {
    LocalSubjectAccessReview: 'Namespaced',
    SelfSubjectAccessReview: 'Cluster',
    SelfSubjectRulesReview: 'Cluster',
    SubjectAccessReview: 'Cluster',
  },
  autoscaling: {
    HorizontalPodAutoscaler: 'Namespaced',
  },
  batch: {
    CronJob: 'Namespaced',
    Job: 'Namespaced',
  },
  'certificates.k8s.io': {
    CertificateSigningRequest: 'Cluster',
  },
  'coordination.k8s.io': {
    Lease: 'Namespaced',
  },
  'discovery.k8s.io': {
    EndpointSlice: 'Namespaced',
  },
  'events.k8s.io': {
    Event: 'Namespaced',
  },
  'flowcontrol.apiserver.k8s.io': {
    FlowSchema: 'Cluster',
    PriorityLevelConfiguration: 'Cluster',
  },
  'networking.k8s.io': {
    IPAddress: 'Cluster',
    Ingress: 'Namespaced',
    IngressClass: 'Cluster',
    NetworkPolicy: 'Namespaced',
    ServiceCIDR: 'Cluster',
  },
  'node.k8s.io': {
    RuntimeClass: 'Cluster',
  },
  policy: {
    PodDisruptionBudget: 'Namespaced',
  },
  'rbac.authorization.k8s.io': {
    ClusterRole: 'Cluster',
    ClusterRoleBinding: 'Cluster',
    Role: 'Namespaced',
    RoleBinding: 'Namespaced',
  },
  'scheduling.k8s.io': {
    PriorityClass: 'Cluster',
  },
  'storage.k8s.io': {
    CSIDriver: 'Cluster',
    CSINode: 'Cluster',
    CSIStorageCapacity: 'Namespaced',
    StorageClass: 'Cluster',
    VolumeAttachment: 'Cluster',
  },
};
