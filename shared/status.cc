#include "shared/status.h"

#include <cstring>
#include <string>

namespace ocisecrets {

Status Status::WithContext(std::string_view context) const {
  if (ok() || context.empty()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

const char* ErrnoName(int err) {
  // strerrorname_np (glibc 2.32+) gives "EBUSY"; names are what operators search for.
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "EUNKNOWN";
}

Status PosixError(std::string_view context, int err) {
  std::string m(context);
  m += ": ";
  m += strerrordesc_np(err) != nullptr ? strerrordesc_np(err) : "unknown error";
  m += " (";
  m += ErrnoName(err);
  m += ")";
  switch (err) {
    case ENOENT:
      return Status::NotFound(std::move(m));
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(std::move(m));
    case ETIMEDOUT:
      return Status::DeadlineExceeded(std::move(m));
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
      return Status::Unavailable(std::move(m));
    default:
      return Status::IOError(std::move(m));
  }
}

}  // namespace ocisecrets
