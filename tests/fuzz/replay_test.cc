// Replays a fuzz target's committed seed corpus and crash regressions as a unit test, so
// every input that once crashed keeps running in the normal and the sanitizer builds.
// The target's name comes in as OCI_FUZZ_SUITE, its directories as OCI_FUZZ_*_DIR.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << file;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A fresh heap copy of exactly the input's size, so ASan sees reads past the end.
  std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

TEST(OCI_FUZZ_SUITE, SeedCorpusRunsClean) {
  auto files = FilesIn(OCI_FUZZ_CORPUS_DIR);
  ASSERT_FALSE(files.empty()) << "no seeds in " << OCI_FUZZ_CORPUS_DIR;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    Replay(f);
  }
}

#ifdef OCI_FUZZ_HAS_REGRESSIONS
TEST(OCI_FUZZ_SUITE, CrashRegressionsRunClean) {
  auto files = FilesIn(OCI_FUZZ_REGRESSIONS_DIR);
  ASSERT_FALSE(files.empty()) << "no regressions in " << OCI_FUZZ_REGRESSIONS_DIR;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    Replay(f);
  }
}
#endif  // OCI_FUZZ_HAS_REGRESSIONS

}  // namespace
