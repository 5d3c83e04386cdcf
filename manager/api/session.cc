#include "manager/api/session.h"

#include <openssl/crypto.h>

namespace ocisecrets::session_internal {

namespace http = boost::beast::http;
namespace net = boost::asio;

std::string ResponseHead(const Response& r, unsigned version, bool keep_alive,
                         std::size_t body_size) {
  std::string h;
  h.reserve(128 + r.content_type.size() + r.allow.size());
  h += "HTTP/";
  h += static_cast<char>('0' + version / 10 % 10);
  h += '.';
  h += static_cast<char>('0' + version % 10);
  h += ' ';
  h += std::to_string(r.status);
  h += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  h.append(reason.data(), reason.size());
  h += "\r\n";
  if (r.status != 204) {
    h += "Content-Type: ";
    h += r.content_type;
    h += "\r\n";
  }
  if (!r.allow.empty()) {
    h += "Allow: ";
    h += r.allow;
    h += "\r\n";
  }
  for (const auto& [name, value] : r.headers) {
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
  }
  h += "Cache-Control: no-store\r\n";
  if (version >= 11 && !keep_alive) h += "Connection: close\r\n";
  if (version < 11 && keep_alive) h += "Connection: keep-alive\r\n";
  h += "Content-Length: ";
  h += std::to_string(body_size);
  h += "\r\n\r\n";
  return h;
}

void WipeSpare(boost::beast::flat_buffer& buffer) {
  auto spare = buffer.prepare(buffer.capacity() - buffer.size());
  OPENSSL_cleanse(spare.data(), spare.size());
}

std::string SizeText(std::size_t bytes) {
  constexpr std::size_t kKiB = 1024;
  constexpr std::size_t kMiB = 1024 * kKiB;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

bool IsQuietEnd(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == boost::beast::error::timeout ||
         ec == net::error::operation_aborted || ec == net::error::eof ||
         ec == net::error::connection_reset;
}

}  // namespace ocisecrets::session_internal
