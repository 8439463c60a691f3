#!/usr/bin/env bash
# Create the local Kind cluster with a local registry on localhost:5001 and the
# F5 NGINX Ingress Controller, then deploy the local overlay.
# Needs: docker, kind >= 0.24, kubectl, helm. Run from anywhere.
#   create-cluster.sh            create registry + cluster + ingress controller
#   create-cluster.sh --deploy   ... and build/push images and apply overlays/local
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cluster=ml-platform
reg_name=kind-registry
reg_port=5001
# F5 NGINX Ingress Controller (maintained; upstream ingress-nginx is retired).
nic_chart_version=2.2.2
velero_chart_version=10.0.10
velero_aws_plugin=velero/velero-plugin-for-aws:v1.12.1
# Same chart and version as terraform/modules/monitoring/prometheus.
kps_chart_version=72.6.2
# NOTE: chart/plugin versions above could not be verified offline; bump to the
# current releases when running this.

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

# 1. Local registry (kind's documented pattern).
if [ "$(docker inspect -f '{{.State.Running}}' "$reg_name" 2>/dev/null || true)" != "true" ]; then
  docker run -d --restart=always -p "127.0.0.1:${reg_port}:5000" --network bridge --name "$reg_name" registry:2.8.3
fi

# 2. Cluster.
kind get clusters | grep -qx "$cluster" || kind create cluster --config "$here/cluster.yaml"

# 3. Point every node's containerd at the registry; connect it to the kind network.
for node in $(kind get nodes --name "$cluster"); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/localhost:${reg_port}"
  printf '[host."http://%s:5000"]\n' "$reg_name" | docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/localhost:${reg_port}/hosts.toml"
done
if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$reg_name")" = "null" ]; then
  docker network connect kind "$reg_name"
fi
kubectl apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${reg_port}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML

# 4. Ingress controller on the control-plane node (hostPorts 80/443), its
#    pods labelled app.kubernetes.io/name=nginx-ingress in namespace
#    nginx-ingress (what the NetworkPolicies allow).
helm upgrade --install nginx-ingress oci://ghcr.io/nginx/charts/nginx-ingress \
  --version "$nic_chart_version" --namespace nginx-ingress --create-namespace \
  --set controller.kind=deployment \
  --set controller.ingressClass.name=nginx \
  --set controller.ingressClass.setAsDefaultIngress=false \
  --set controller.service.type=ClusterIP \
  --set controller.hostPort.enable=true \
  --set-string 'controller.nodeSelector.ingress-ready=true' \
  --set 'controller.tolerations[0].key=node-role.kubernetes.io/control-plane' \
  --set 'controller.tolerations[0].operator=Exists' \
  --set 'controller.tolerations[0].effect=NoSchedule' \
  --wait

if [ "${1:-}" = "--deploy" ]; then
  # 5. Images -> local registry.
  docker build -f "$repo/infrastructure/docker/mlp/Dockerfile" -t "localhost:${reg_port}/ml-platform/mlp:dev" "$repo"
  docker build -f "$repo/infrastructure/docker/pg-backup/Dockerfile" -t "localhost:${reg_port}/ml-platform/pg-backup:dev" "$repo/infrastructure/docker/pg-backup"
  docker build -f "$repo/infrastructure/docker/ml-training/Dockerfile" -t "localhost:${reg_port}/ml-platform/ml-training:dev" "$repo"
  docker build -f "$repo/infrastructure/docker/ml-batch-inference/Dockerfile" -t "localhost:${reg_port}/ml-platform/ml-batch-inference:dev" "$repo/infrastructure/docker/ml-batch-inference"
  for img in mlp pg-backup ml-training ml-batch-inference; do docker push "localhost:${reg_port}/ml-platform/${img}:dev"; done
  # 6. Secrets.
  "$here/generate-local-secrets.sh"
  secrets="$repo/infrastructure/kubernetes/overlays/local/secrets"
  # 7. Velero (file-system backups into the local MinIO bucket "velero"),
  #    before the overlay so its Schedule CRD exists.
  helm upgrade --install velero velero --repo https://vmware-tanzu.github.io/helm-charts \
    --version "$velero_chart_version" --namespace velero --create-namespace \
    --set deployNodeAgent=true \
    --set "initContainers[0].name=velero-plugin-for-aws" \
    --set "initContainers[0].image=${velero_aws_plugin}" \
    --set "initContainers[0].volumeMounts[0].mountPath=/target" \
    --set "initContainers[0].volumeMounts[0].name=plugins" \
    --set "configuration.backupStorageLocation[0].name=default" \
    --set "configuration.backupStorageLocation[0].provider=aws" \
    --set "configuration.backupStorageLocation[0].bucket=velero" \
    --set "configuration.backupStorageLocation[0].config.region=us-east-1" \
    --set "configuration.backupStorageLocation[0].config.s3ForcePathStyle=true" \
    --set "configuration.backupStorageLocation[0].config.s3Url=http://minio.ml-platform.svc.cluster.local:9000" \
    --set snapshotsEnabled=false \
    --set-file "credentials.secretContents.cloud=${secrets}/aws-credentials"
  # 7b. Monitoring stack (Prometheus operator + CRDs, Prometheus, Alertmanager,
  #     kube-state-metrics, node-exporter), as terraform/modules/monitoring/prometheus
  #     installs it; before the overlay so the ServiceMonitor/PrometheusRule CRDs
  #     exist. Grafana is the overlay's mlp-grafana (base/monitoring/grafana).
  helm upgrade --install kube-prometheus-stack kube-prometheus-stack \
    --repo https://prometheus-community.github.io/helm-charts \
    --version "$kps_chart_version" --namespace monitoring --create-namespace \
    --set grafana.enabled=false \
    --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.retention=2d \
    --set-string prometheus.prometheusSpec.externalLabels.environment=local \
    --wait
  # 8. The platform.
  kubectl apply -k "$repo/infrastructure/kubernetes/overlays/local"
  kubectl -n ml-platform rollout status deploy/mlp-backend --timeout=300s
  echo "UI: http://ml-platform.localtest.me/"
fi
