# Sourced by the packaging scripts: installs the Debian packages the project needs,
# only those missing, with apt-get update first (once) when something is missing.
# Usage: oci_install_packages PKG...
oci_install_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  echo "==> installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# What building needs.
OCI_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev libsqlite3-dev libboost-dev libboost-system-dev nlohmann-json3-dev
  libcli11-dev libseccomp-dev libgtest-dev libgmock-dev libtomlplusplus-dev
  libyaml-cpp-dev
)

# What the integration tests drive.
OCI_TEST_PACKAGES=(
  runc crun busybox-static uidmap procps
  podman containerd docker.io
)

# docker_api_test drives Docker's Python SDK against the daemon's socket.
OCI_TEST_PACKAGES+=(python3-docker)
# compose_test drives both Compose implementations against the test's own engines.
OCI_TEST_PACKAGES+=(docker-compose podman-compose)

# engine_containerd_test speaks CRI's gRPC (HTTP/2 over containerd's socket) through curl.
OCI_TEST_PACKAGES+=(curl)

# What the sanitizer build and the libFuzzer targets need (packaging/test.sh, packaging/fuzz.sh).
OCI_TEST_PACKAGES+=(clang libclang-rt-14-dev llvm)

# The etcd store's tests start real etcd members (tests/testing/etcd_cluster.h);
# packaging/etcd-local.sh starts a local cluster for trying it out.
OCI_TEST_PACKAGES+=(etcd-server etcd-client)
