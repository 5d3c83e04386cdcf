#include "manager/cli/payload_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "shared/validation.h"

namespace ocisecrets {

Result<SecretBytes> ReadPayloadFd(int fd, std::size_t max, const std::string& what) {
  // One allocation of the final size: growing would leave unwiped copies behind only if
  // the allocator did not wipe, but one buffer is also simply cheaper.
  SecretBytes data(max + 1);
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + what, errno);
    }
    got += static_cast<std::size_t>(n);
  }
  if (got > max) {
    return Status::InvalidArgument("secret data from " + what +
                                   " must be less than 512000 bytes (got more than " +
                                   std::to_string(max) + ")");
  }
  data.resize(got);
  return data;
}

Result<SecretBytes> ReadPayload(const std::string& path_or_dash) {
  Result<SecretBytes> data = Status::Internal("unread");
  if (path_or_dash == "-") {
    data = ReadPayloadFd(0, kMaxPayloadSize, "stdin");
  } else {
    int fd = ::open(path_or_dash.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return PosixError("open " + path_or_dash, errno);
    data = ReadPayloadFd(fd, kMaxPayloadSize, path_or_dash);
    ::close(fd);
  }
  if (!data.ok()) return data;
  RETURN_IF_ERROR(ValidatePayloadSize(data->size()), "");
  return data;
}

}  // namespace ocisecrets
