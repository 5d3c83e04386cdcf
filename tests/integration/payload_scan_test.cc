// After the integration tests: no payload marker the tests used may be left anywhere on
// the host, in plaintext or base64: not in a log, a state dir, /tmp, /run or /var. The
// encrypted store only holds ciphertext, so a hit there is a failure too.
// packaging/sanitize.sh runs this test last, after the whole integration run.
//
// Markers: every test payload starting with "OCS-MARKER-" (use that prefix in new tests),
// plus the exact markers listed in kKnownMarkers.
// OCI_SECRETS_SCAN_SINCE=EPOCH_SECONDS reads only files modified since then (sanitize.sh
// sets it to the start of its test run, so only what the run wrote is judged).
// OCI_SECRETS_SCAN_EXCLUDE="/a:/b" skips paths below those prefixes (e.g. a CI runner's
// own work dir that holds test sources or captured outputs).
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "shared/models.h"

namespace ocisecrets {
namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxFileBytes = 64u << 20;  // bigger files: images, not ours

const std::vector<std::string> kKnownMarkers = {
    "OCS-MARKER-hostile-service",
    "OCS-MARKER-hook-crash",
    "OCS-MARKER-hostile-image",
    "MARKER-7d3c9a1e-payload",  // tests/integration/manager_test.cc
};

std::vector<std::string> Needles() {
  std::vector<std::string> out = {"OCS-MARKER-"};
  for (const auto& m : kKnownMarkers) {
    out.push_back(m);
    out.push_back(Base64Encode(reinterpret_cast<const std::uint8_t*>(m.data()), m.size()));
  }
  return out;
}

std::vector<std::string> Excluded() {
  std::vector<std::string> out = {
      OCI_SECRETS_SOURCE_DIR, OCI_SECRETS_BINARY_DIR,
      // Package manager state: large, never written by the tests.
      "/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf"};
  if (const char* env = std::getenv("OCI_SECRETS_SCAN_EXCLUDE")) {
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) out.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

bool IsExcluded(const std::string& path, const std::vector<std::string>& excluded) {
  for (const auto& e : excluded) {
    if (path == e || path.rfind(e + "/", 0) == 0) return true;
  }
  return false;
}

// Every regular file under root (symlinks not followed, no fifo or device opened), and
// the needles each one holds.
void Scan(const std::string& root, const std::vector<std::string>& needles,
          const std::vector<std::string>& excluded, long long since,
          std::vector<std::string>* hits, std::size_t* files) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) return;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string path = it->path().string();
    if (IsExcluded(path, excluded)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    auto st = it->symlink_status(ec);
    if (ec || !fs::is_regular_file(st)) continue;
    if (since != 0) {
      auto mtime = fs::last_write_time(it->path(), ec);
      if (ec) continue;
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                      .count();
      if (secs < since) continue;
    }
    auto size = it->file_size(ec);
    if (ec || size == 0 || size > kMaxFileBytes) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) continue;
    std::string bytes(size, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    ++*files;
    for (std::size_t i = 0; i < needles.size(); ++i) {
      // The needle is named by its index: printing it would plant it in the test's log.
      if (bytes.find(needles[i]) != std::string::npos) {
        hits->push_back(path + " holds test payload marker #" + std::to_string(i));
      }
    }
  }
}

TEST(PayloadScanTest, NoTestPayloadIsLeftOnTheHost) {
  const auto needles = Needles();
  const auto excluded = Excluded();
  std::vector<std::string> hits;
  std::size_t files = 0;
  long long since = 0;
  if (const char* env = std::getenv("OCI_SECRETS_SCAN_SINCE")) since = std::atoll(env);
  for (const char* root : {"/tmp", "/run", "/var", "/etc/oci-secrets"}) {
    Scan(root, needles, excluded, since, &hits, &files);
  }
  EXPECT_GT(files, 0u) << "the scan read nothing: it proves nothing";
  for (const auto& h : hits) ADD_FAILURE() << h;
}

TEST(PayloadScanTest, ScannerFindsAPlantedMarker) {
  // Control: a marker planted in /tmp is found, so an empty result means something.
  const std::string dir = "/tmp/ocs-scan-" + std::to_string(getpid());
  fs::create_directories(dir);
  const std::string file = dir + "/planted";
  std::ofstream(file) << "prefix " << kKnownMarkers[0] << " suffix";
  std::vector<std::string> hits;
  std::size_t files = 0;
  Scan(dir, Needles(), {}, 0, &hits, &files);
  fs::remove_all(dir);
  EXPECT_EQ(files, 1u);
  EXPECT_FALSE(hits.empty());
}

}  // namespace
}  // namespace ocisecrets
