#include "hook/stages/hook_log.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace ocisecrets::hook {

void HookLog::Open(const std::string& path) {
  if (path.empty() || path.front() != '/') return;
  std::size_t slash = path.rfind('/');
  if (slash > 0) mkdir(path.substr(0, slash).c_str(), 0700);  // one level; EEXIST is fine
  fd_.Reset(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                 0600));
}

void HookLog::Write(std::string_view line) {
  if (!fd_.valid()) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  // Formatted by hand: strftime would load the time zone (/etc/localtime) for a UTC stamp.
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  std::string out = stamp;
  for (char c : line) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  out += '\n';
  // One write(2) per line keeps lines whole when several hooks append at once.
  (void)!write(fd_.get(), out.data(), out.size());
}

}  // namespace ocisecrets::hook
