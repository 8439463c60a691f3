//! Findings, severities and the rule catalogue.

use std::fmt;

use serde::Serialize;

/// How bad a finding is. Only errors make `mlp infra check` exit non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A rule of the catalogue: stable id, default severity, title and a one-line fix.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub fix: &'static str,
    /// Checkov checks (Part C of the infra anchors) this rule covers, for the README and SARIF.
    pub checkov: &'static [&'static str],
}

/// One problem found in one object of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Repo-relative path of the source file (best effort for rendered Kubernetes objects).
    pub file: String,
    /// 1-based line of the object in `file`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The object: `Deployment/ml-platform/mlp-backend`, `aws_db_instance.this`, `mlp-frontend -> mlp-backend 8000/TCP`.
    pub object: String,
    /// The environment (overlay / Terraform root) this was found in, if it is environment-specific.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    pub message: String,
    pub fix: String,
    /// Suppression keys this finding is about: `k8s:Kind/name`, `tf:file#object`, `file:path`.
    #[serde(skip)]
    pub subjects: Vec<String>,
}

impl Finding {
    pub fn new(
        rule: &'static str,
        file: impl Into<String>,
        object: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let r = rule_by_id(rule).unwrap_or_else(|| panic!("unknown rule id {rule}"));
        Finding {
            rule: r.id,
            severity: r.severity,
            file: file.into(),
            line: None,
            object: object.into(),
            env: None,
            message: message.into(),
            fix: r.fix.to_string(),
            subjects: Vec::new(),
        }
    }

    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    pub fn env(mut self, env: &str) -> Self {
        self.env = Some(env.to_string());
        self
    }

    pub fn line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn subject(mut self, s: impl Into<String>) -> Self {
        self.subjects.push(s.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }
}

macro_rules! rules {
    ($( $id:literal, $sev:ident, $title:literal, $fix:literal, [$($ck:literal),*]; )*) => {
        /// Every rule `mlp infra check` knows, in report order.
        pub const RULES: &[Rule] = &[ $( Rule { id: $id, severity: Severity::$sev, title: $title, fix: $fix, checkov: &[$($ck),*] } ),* ];
    };
}

rules! {
    // --- Kubernetes workloads -------------------------------------------------------------
    "K8S-001", Error, "Privileged container", "Remove securityContext.privileged (Pod Security restricted).", ["CKV_K8S_16"];
    "K8S-002", Error, "Privilege escalation allowed", "Set securityContext.allowPrivilegeEscalation: false on every container.", ["CKV_K8S_20"];
    "K8S-003", Error, "Capabilities not dropped", "Set capabilities.drop: [ALL]; add at most NET_BIND_SERVICE.", ["CKV_K8S_28", "CKV_K8S_37"];
    "K8S-004", Error, "May run as root", "Set runAsNonRoot: true and a non-zero runAsUser (pod or container).", ["CKV_K8S_23", "CKV_K8S_40"];
    "K8S-005", Error, "No seccomp profile", "Set securityContext.seccompProfile.type: RuntimeDefault.", ["CKV_K8S_31"];
    "K8S-006", Error, "Other Pod Security restricted violation", "Use only restricted volume types, safe sysctls, default procMount and no SELinux/AppArmor overrides.", [];
    "K8S-007", Warning, "Writable root filesystem", "Set readOnlyRootFilesystem: true and mount an emptyDir on /tmp.", ["CKV_K8S_22"];
    "K8S-010", Error, "Host namespace shared", "Remove hostNetwork, hostPID and hostIPC.", ["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"];
    "K8S-011", Error, "hostPath volume", "Replace the hostPath volume with emptyDir, a PVC or a projected volume.", ["CKV_K8S_27"];
    "K8S-012", Error, "hostPort used", "Remove hostPort; expose the port through a Service.", ["CKV_K8S_26"];
    "K8S-020", Error, "Missing requests or limits", "Set resources.requests and resources.limits for cpu and memory.", ["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"];
    "K8S-021", Error, "Missing probes", "Add livenessProbe and readinessProbe to long-running containers.", ["CKV_K8S_8", "CKV_K8S_9"];
    "K8S-022", Error, "Service account token mounted without need", "Set automountServiceAccountToken: false unless a RoleBinding grants the ServiceAccount API access.", ["CKV_K8S_38"];
    "K8S-023", Error, "Default service account", "Give the pod a dedicated serviceAccountName.", [];
    "K8S-030", Error, "Mutable or missing image tag", "Pin the image to a release tag or a digest (never latest).", ["CKV_K8S_14"];
    "K8S-040", Error, "Secret in a ConfigMap", "Move the value into a Secret (ExternalSecret in the cloud) and mount it as a file.", [];
    "K8S-041", Error, "Secret in an env literal or argument", "Reference the secret from a Secret mounted as a file (…_FILE) instead of a literal.", [];
    "K8S-042", Error, "Committed Secret", "Do not commit Secret data: use an ExternalSecret or a secretGenerator over git-ignored files.", [];
    "K8S-043", Warning, "Secret read into the environment", "Mount the Secret as a file and pass its path (…_FILE) instead of secretKeyRef/envFrom.", ["CKV_K8S_35"];
    "K8S-050", Error, "Namespace not restricted", "Label the namespace pod-security.kubernetes.io/enforce: restricted and keep workloads out of default.", ["CKV_K8S_21"];
    "K8S-051", Error, "Over-broad RBAC", "Name API groups, resources and verbs explicitly; no exec/attach, secrets, escalate/bind/impersonate or ClusterRoles.", ["CKV_K8S_49"];
    "K8S-052", Warning, "Service exposed on nodes", "Use a ClusterIP Service behind the Ingress instead of NodePort/LoadBalancer.", [];
    "K8S-053", Error, "Prod workload not highly available", "In prod, run >= 2 replicas with a PodDisruptionBudget and a topology spread or anti-affinity.", [];
    "K8S-054", Error, "Unbounded CronJob", "Set concurrencyPolicy: Forbid, startingDeadlineSeconds, activeDeadlineSeconds and history limits.", [];
    // --- network -----------------------------------------------------------------------------
    "NET-001", Error, "No default deny", "Add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules.", ["CKV2_K8S_6"];
    "NET-002", Error, "No DNS egress", "Allow egress to kube-system/kube-dns on 53/UDP and 53/TCP for all pods.", [];
    "NET-003", Error, "Pod not selected by a NetworkPolicy", "Add a NetworkPolicy whose podSelector selects the workload.", ["CKV2_K8S_6"];
    "NET-004", Warning, "NetworkPolicy selects no pod", "Fix the podSelector or remove the policy.", [];
    "NET-010", Error, "Unintended path allowed", "Narrow the NetworkPolicies, or declare the flow in infrastructure/policy/connectivity.yaml.", [];
    "NET-011", Error, "Intended path blocked", "Allow the flow on both sides (egress of the source, ingress of the target), or remove it from connectivity.yaml.", [];
    "NET-012", Error, "Workload and connectivity.yaml disagree", "Declare every rendered workload in connectivity.yaml (and only those).", [];
    // --- Terraform ---------------------------------------------------------------------------
    "TF-001", Error, "Encryption at rest disabled", "Enable storage encryption with a KMS key.", ["CKV_AWS_16", "CKV_AWS_29", "CKV_AWS_58", "CKV_AWS_145", "CKV_AWS_136", "CKV_AWS_149"];
    "TF-002", Error, "Encryption in transit disabled", "Enable TLS (transit_encryption_enabled, rds.force_ssl, aws:SecureTransport deny).", ["CKV_AWS_30"];
    "TF-003", Error, "Prod without deletion protection", "Set deletion_protection = true for prod (env-config / terraform.tfvars).", ["CKV_AWS_293"];
    "TF-004", Error, "Backup retention too short", "Keep >= 7 days of backups in the cloud and >= 30 in prod; keep a final snapshot.", ["CKV_AWS_133"];
    "TF-005", Error, "Publicly accessible", "Set publicly_accessible = false, block all S3 public access, keep the EKS endpoint private or CIDR-restricted.", ["CKV_AWS_17", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6", "CKV_AWS_39", "CKV_AWS_38"];
    "TF-006", Error, "Security group open to the world", "Restrict ingress to security groups or private CIDRs, never 0.0.0.0/0 or ::/0.", ["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260"];
    "TF-007", Error, "Wildcard IAM", "Name actions and resources; Resource \"*\" only for read-only calls.", ["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_355", "CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV2_AWS_40"];
    "TF-008", Error, "Unpinned version", "Pin required_version and every provider (>= in modules, ~> in roots) and every registry module version.", ["CKV_TF_1"];
    "TF-009", Error, "Literal secret", "Generate the secret (random_password, manage_master_user_password) and keep it in Secrets Manager.", ["CKV_SECRET_2", "CKV_SECRET_4", "CKV_AWS_41"];
    "TF-010", Error, "Local/cloud module interface differs", "Give both variants the same variables (type, default) and outputs.", [];
    "TF-011", Error, "HCL does not parse", "Fix the syntax error (terraform fmt / validate).", [];
    "TF-012", Warning, "Mutable registry tags or no image scanning", "Set image_tag_mutability = IMMUTABLE and scan_on_push = true.", ["CKV_AWS_51", "CKV_AWS_163"];
    "TF-013", Warning, "Prod data store not multi-AZ", "Set high_availability (multi_az, automatic failover) for prod.", ["CKV_AWS_157"];
    "TF-014", Warning, "S3 bucket without versioning or lifecycle", "Add aws_s3_bucket_versioning (Enabled) and an aws_s3_bucket_lifecycle_configuration.", ["CKV_AWS_21", "CKV2_AWS_61"];
    "TF-015", Warning, "Logging or monitoring off", "Enable access/control-plane/database logs, enhanced monitoring and Performance Insights.", ["CKV_AWS_18", "CKV_AWS_37", "CKV_AWS_118", "CKV_AWS_129", "CKV_AWS_353"];
    "TF-016", Warning, "Data store hardening missing", "RDS: IAM auth, copy tags to snapshots, minor upgrades, PI with KMS; ElastiCache: AUTH token and a KMS key.", ["CKV_AWS_161", "CKV_AWS_226", "CKV2_AWS_60", "CKV_AWS_354", "CKV_AWS_31", "CKV_AWS_191"];
    // --- cross-layer: Terraform <-> Kubernetes of the same environment -----------------------
    "XL-001", Error, "Image not in the environment's registry", "Pull only images whose repository Terraform creates (modules/env-config registry_config.repositories), under the environment's path.", [];
    "XL-002", Error, "Workload identity cannot reach its credential endpoint", "Allow egress to the EKS Pod Identity agent (169.254.170.23:80/TCP) for the pods whose ServiceAccount has an association.", [];
    "XL-003", Error, "Custom resource without its CRD", "Install the CRD in the same environment (Helm release / mlp infra up local), or drop the object from the overlay.", [];
    "XL-004", Error, "Volume without a StorageClass", "Define a (default) StorageClass in the environment, or name one that exists.", [];
    "XL-005", Error, "Identity association after its workload", "Make the release depend on the Pod Identity association (depends_on, or pass the association's output into the module).", [];
    "XL-006", Error, "Names disagree between Terraform and Kubernetes", "Use the same name in both layers (cluster name, ServiceAccounts of the associations, Secrets Manager secrets the ExternalSecrets read).", [];
    "XL-007", Error, "GPU nodes without the device plugin or tolerations", "Label GPU node groups nvidia.com/gpu.present=true, install the NVIDIA device plugin where they exist (modules/cluster/addons gpu_enabled), and give pods requesting nvidia.com/gpu tolerations for a GPU group's taints.", [];
    // --- the platform's own objects (terraform-provider-mlp) ---------------------------------
    "MLP-001", Error, "mlp provider not pinned", "Declare required_providers.mlp with source \"ml-platform/mlp\" and a ~> version constraint in every module that uses it.", [];
    "MLP-002", Error, "Grant, alias or assignment on an undeclared object", "Refer to the mlp_user / mlp_role / mlp_experiment / mlp_registered_model the configuration declares (or a data source), and declare every key an environment's tfvars uses.", [];
    "MLP-003", Error, "Platform user password not from a sensitive variable", "Pass mlp_user.password only from a variable with sensitive = true (TF_VAR_…) or a generated secret.", [];
    "MLP-004", Error, "Team role with MANAGE on everything", "Grant MANAGE on named experiments/models, or mark the role admin = true in the environment's tfvars if it really administers the workspace.", [];
    "MLP-005", Error, "Environment tfvars and root variables disagree", "Give every environment an envs/<env>.tfvars that sets each variable without a default and only declared variables.", [];
    // --- suppressions / inputs ---------------------------------------------------------------
    "SUP-001", Error, "Suppression without a reason", "Write `mlp-infra:ignore RULE-ID why this is acceptable`.", [];
    "SUP-002", Warning, "Suppression matches nothing", "Remove the stale suppression, or fix its rule id.", [];
    "INP-001", Error, "Input cannot be read", "Fix the file so it renders/parses (kubectl kustomize, YAML, HCL).", [];
}

pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Sort for stable output: severity (errors first), rule, file, object, message.
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.env.cmp(&b.env))
            .then_with(|| a.message.cmp(&b.message))
    });
}
