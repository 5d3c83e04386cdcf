#include "hook/stages/hook_log.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>

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
  // Calendar arithmetic by hand: glibc's gmtime_r and strftime read /etc/localtime on
  // first use, for a stamp in UTC.
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto day = floor<days>(now);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<milliseconds>(now - day)};
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  std::string out = stamp;
  for (char c : line) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  out += '\n';
  // One write(2) per line keeps lines whole when several hooks append at once.
  (void)!write(fd_.get(), out.data(), out.size());
}

}  // namespace ocisecrets::hook
