#!/usr/bin/env bash
# A local Kubernetes cluster with Tributary's operator and a 3-broker Cluster, on kind.
# Needs docker, kind and kubectl. NOT exercised on the development machines (no Docker engine
# there): the operator's tests run against a real kube-apiserver built from source instead
# (test/kube/, hack/kube/build.sh).
#
#   hack/kind/up.sh            # create the kind cluster "tributary", build and load the image, install
#   hack/kind/up.sh --down     # delete the kind cluster
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=${KIND_CLUSTER_NAME:-tributary}
IMAGE=${TRIBUTARY_IMAGE:-tributary:dev}

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "hack/kind/up.sh: $tool is not installed; install it and run again." >&2; exit 1; }
done

if [[ "${1:-}" == "--down" ]]; then
  kind delete cluster --name "$NAME"
  exit 0
fi

echo "==> kind cluster $NAME (3 nodes, zones a/b/c)"
if ! kind get clusters | grep -qx "$NAME"; then
  kind create cluster --name "$NAME" --config - <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
    labels: { topology.kubernetes.io/zone: a }
  - role: worker
    labels: { topology.kubernetes.io/zone: b }
  - role: worker
    labels: { topology.kubernetes.io/zone: c }
KIND
fi

echo "==> image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$NAME"

echo "==> CRDs, RBAC, operator"
kubectl apply --server-side -f crds/
kubectl apply -k config/
kubectl -n tributary-system set image deployment/tributary-operator operator="$IMAGE"
kubectl -n tributary-system patch deployment tributary-operator --type=json \
  -p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/args/0\",\"value\":\"operator\"},{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/args/-\",\"value\":\"--image=$IMAGE\"}]"
kubectl -n tributary-system rollout status deployment/tributary-operator --timeout=180s

echo "==> sample Cluster, Topic and ConsumerGroup"
kubectl apply -f config/samples/
echo "Done. Watch it come up with: kubectl get tributary -A; kubectl get pods -w"
