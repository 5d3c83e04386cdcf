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

namespace {

struct CodeName {
  StatusCode code;
  std::string_view name;
};

// Every code once; the names are part of the API (docs/API.md), never renamed.
constexpr CodeName kCodeNames[] = {
    {StatusCode::kOk, "OK"},
    {StatusCode::kInvalidArgument, "InvalidArgument"},
    {StatusCode::kNotFound, "NotFound"},
    {StatusCode::kAlreadyExists, "AlreadyExists"},
    {StatusCode::kFailedPrecondition, "FailedPrecondition"},
    {StatusCode::kPermissionDenied, "PermissionDenied"},
    {StatusCode::kUnavailable, "Unavailable"},
    {StatusCode::kDeadlineExceeded, "DeadlineExceeded"},
    {StatusCode::kIOError, "IOError"},
    {StatusCode::kDataLoss, "DataLoss"},
    {StatusCode::kInternal, "Internal"},
};

}  // namespace

std::string_view StatusCodeName(StatusCode code) {
  for (const auto& c : kCodeNames) {
    if (c.code == code) return c.name;
  }
  return "Internal";  // not reached: every enumerator is in the table
}

std::optional<StatusCode> StatusCodeFromName(std::string_view name) {
  for (const auto& c : kCodeNames) {
    if (c.name == name) return c.code;
  }
  return std::nullopt;
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
