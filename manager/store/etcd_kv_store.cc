#include "manager/store/etcd_kv_store.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "shared/base64.h"

namespace ocisecrets {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr int kRangePage = 10000;

struct Endpoint {
  std::string url;  // as given, for messages
  bool tls = false;
  std::string host;
  std::string port;
};

Result<Endpoint> ParseEndpoint(const std::string& url) {
  Endpoint e;
  e.url = url;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    e.tls = true;
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument("etcd endpoint '" + url + "' must be http://HOST:PORT or https://HOST:PORT");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find('/') != std::string::npos) {
    return Status::InvalidArgument("etcd endpoint '" + url + "' must be http(s)://HOST:PORT");
  }
  e.host = rest.substr(0, colon);
  e.port = rest.substr(colon + 1);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  return e;
}

std::string B64(const std::string& bytes) {
  return Base64Encode(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

Result<std::string> UnB64(const json& v) {
  if (!v.is_string()) return std::string();
  SecretBytes out;
  if (!Base64DecodeInto(v.get_ref<const std::string&>(), &out)) {
    return Status::DataLoss("etcd: an answer holds invalid base64");
  }
  return std::string(out.begin(), out.end());
}

// int64 fields come as JSON strings; proto3 omits zero values.
std::int64_t Int64(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number_integer()) return it->get<std::int64_t>();
  return 0;
}

bool Bool(const json& obj, const char* field) {
  auto it = obj.find(field);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

// The smallest key greater than every key starting with prefix ("\0": to the end).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::string(1, '\0');
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// etcd's revision of the engine's revision R, and back (see the header).
std::int64_t ToEtcd(std::int64_t r) { return r + 1; }
std::int64_t FromEtcd(std::int64_t r) { return r > 0 ? r - 1 : 0; }

// One connection to one endpoint, plain or TLS.
struct Connection {
  int endpoint = 0;
  // Its own io_context: one thread at a time uses a connection, and Beast's timeouts
  // (expires_after) bound only asynchronous operations, so each is run here to completion.
  asio::io_context io;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  template <class F>
  auto With(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }
  // Runs one asynchronous operation (start(handler)) to completion, bounded by the
  // stream's expiry; the error it ended with (beast::error::timeout past the deadline).
  template <class Start>
  beast::error_code Run(Start&& start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
  // An idle kept-alive connection the member closed (or wrote to) meanwhile.
  bool Stale() {
    pollfd p{tcp().socket().native_handle(), POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) != 0;
  }
};

// What a watcher's reading thread and its Next share.
struct WatchState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<WatchEvent> pending;
  std::optional<Status> end;  // why the stream ended, after pending is delivered
  bool cancelled = false;
  int fd = -1;
  std::size_t strip = 0;  // the store prefix's length

  void Cancel() {
    std::lock_guard<std::mutex> lock(mu);
    if (cancelled) return;
    cancelled = true;
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);  // unblocks the reading thread
    cv.notify_all();
  }
  void End(Status why) {
    std::lock_guard<std::mutex> lock(mu);
    if (!end) end = std::move(why);
    cv.notify_all();
  }
};

}  // namespace

// The HTTP side: endpoints, the TLS context, the pool, failover.
class EtcdKvStore::Client {
 public:
  struct Answer {
    json body;
  };

  Client(std::vector<Endpoint> endpoints, std::unique_ptr<ssl::context> tls,
         std::chrono::milliseconds timeout)
      : endpoints_(std::move(endpoints)), tls_(std::move(tls)), timeout_(timeout) {}

  std::chrono::milliseconds timeout() const { return timeout_; }

  std::string EndpointList() const {
    std::string out;
    for (const auto& e : endpoints_) out += (out.empty() ? "" : ",") + e.url;
    return out;
  }

  // A new connection to endpoint i, within the timeout.
  Result<std::unique_ptr<Connection>> Dial(int i) {
    const Endpoint& e = endpoints_[i];
    auto c = std::make_unique<Connection>();
    c->endpoint = i;
    beast::error_code ec;
    tcp::resolver resolver(c->io);
    auto addresses = resolver.resolve(e.host, e.port, ec);
    if (ec) return Status::Unavailable("etcd: cannot resolve " + e.url + ": " + ec.message());
    if (e.tls) {
      c->tls.emplace(c->io, *tls_);
    } else {
      c->plain.emplace(c->io);
    }
    c->tcp().expires_after(timeout_);
    ec = c->Run([&](auto h) { c->tcp().async_connect(addresses, h); });
    if (ec) return Status::Unavailable("etcd: cannot reach " + e.url + ": " + ec.message());
    c->tcp().socket().set_option(tcp::no_delay(true), ec);
    if (e.tls) {
      // Verify the member's name (or address) against its certificate.
      SSL_set_tlsext_host_name(c->tls->native_handle(), e.host.c_str());
      c->tls->set_verify_callback(ssl::host_name_verification(e.host));
      ec = c->Run([&](auto h) { c->tls->async_handshake(ssl::stream_base::client, h); });
      if (ec) {
        long verify = SSL_get_verify_result(c->tls->native_handle());
        if (verify != X509_V_OK) {
          return Status::PermissionDenied("etcd: TLS handshake with " + e.url +
                                          " failed: its certificate is refused (" +
                                          X509_verify_cert_error_string(verify) +
                                          "): check --etcd-cacert");
        }
        return Status::Unavailable("etcd: TLS handshake with " + e.url + " failed: " + ec.message() +
                                   " (does etcd want a client certificate: --etcd-cert, --etcd-key?)");
      }
    }
    return c;
  }

  // POSTs body to path and returns the JSON answer. idempotent: may be sent again to the
  // next endpoint after any failure; otherwise only when it cannot have been received.
  Result<json> Post(const std::string& path, const json& body, bool idempotent) {
    std::string text = body.dump();
    Status last = Status::Unavailable("no endpoint");
    const std::size_t attempts = endpoints_.size() + 1;  // +1: one stale pooled connection
    for (std::size_t attempt = 0; attempt < attempts; ++attempt) {
      auto conn = Acquire();
      if (!conn.ok()) {
        last = conn.status();
        if (last.code() == StatusCode::kPermissionDenied) return last;
        continue;
      }
      std::unique_ptr<Connection> c = std::move(conn).value();
      const Endpoint& e = endpoints_[c->endpoint];
      http::request<http::string_body> req{http::verb::post, path, 11};
      req.set(http::field::host, e.host + ":" + e.port);
      req.set(http::field::content_type, "application/json");
      req.keep_alive(true);
      req.body() = text;
      req.prepare_payload();
      beast::error_code ec;
      c->tcp().expires_after(timeout_);
      ec = c->With([&](auto& s) { return c->Run([&](auto h) { http::async_write(s, req, h); }); });
      if (ec) {  // not all of the request left: etcd cannot act on it
        last = Status::Unavailable("etcd: " + e.url + path + ": " + ec.message());
        Failed(c->endpoint);
        continue;
      }
      http::response<http::string_body> res;
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      ec = c->With(
          [&](auto& s) { return c->Run([&](auto h) { http::async_read(s, c->buffer, parser, h); }); });
      if (ec) {
        last = Status::Unavailable("etcd: " + e.url + path + ": " + ec.message());
        Failed(c->endpoint);
        if (!idempotent) return last.WithContext("the txn's outcome is unknown");
        continue;
      }
      res = parser.release();
      json answer = json::parse(res.body(), nullptr, false);
      int status = res.result_int();
      if (status >= 500 || answer.is_discarded()) {
        last = Status::Unavailable("etcd: " + e.url + path + ": HTTP " + std::to_string(status) + ": " +
                                   ErrorText(answer, res.body()));
        Failed(c->endpoint);
        if (!idempotent) return last.WithContext("the txn's outcome is unknown");
        continue;
      }
      if (res.keep_alive()) Release(std::move(c));
      if (status != 200) return Refusal(status, ErrorText(answer, res.body()));
      return answer;
    }
    return last.WithContext("etcd: none of " + EndpointList() + " answered");
  }

  // A connection of its own for a watch: to the current endpoint, else the next ones.
  Result<std::unique_ptr<Connection>> DialAny() {
    Status last = Status::Unavailable("no endpoint");
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
      int e = Current();
      auto c = Dial(e);
      if (c.ok()) return c;
      last = c.status();
      Failed(e);
    }
    return last.WithContext("etcd: none of " + EndpointList() + " answered");
  }

  const Endpoint& endpoint(int i) const { return endpoints_[i]; }

  // The watchers CancelWatches (the store's end) cancels.
  void AddWatch(const std::shared_ptr<WatchState>& state) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(watches_, [](const std::weak_ptr<WatchState>& w) { return w.expired(); });
    watches_.push_back(state);
  }
  void CancelWatches() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& weak : watches_) {
      if (auto s = weak.lock()) s->Cancel();
    }
    watches_.clear();
  }

 private:
  static std::string ErrorText(const json& answer, const std::string& raw) {
    if (answer.is_object()) {
      for (const char* f : {"error", "message"}) {
        auto it = answer.find(f);
        if (it != answer.end() && it->is_string()) return it->get<std::string>();
      }
    }
    return raw.substr(0, 200);
  }

  static Status Refusal(int status, const std::string& text) {
    if (text.find("compacted") != std::string::npos) {
      return Status::FailedPrecondition("etcd: compacted: " + text);
    }
    if (status == 401 || status == 403) return Status::PermissionDenied("etcd refused: " + text);
    return Status::InvalidArgument("etcd refused the request (HTTP " + std::to_string(status) +
                                   "): " + text);
  }

  int Current() {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

  Result<std::unique_ptr<Connection>> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!idle_.empty()) {
        std::unique_ptr<Connection> c = std::move(idle_.back());
        idle_.pop_back();
        if (!c->Stale()) return c;
      }
    }
    int e = Current();
    auto c = Dial(e);
    if (!c.ok()) Failed(e);
    return c;
  }

  void Release(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (c->endpoint == current_ && idle_.size() < 32) idle_.push_back(std::move(c));
  }

  // Endpoint i failed: the next requests go to the next one; its idle connections go.
  void Failed(int i) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ == i) current_ = (i + 1) % static_cast<int>(endpoints_.size());
    std::erase_if(idle_, [i](const std::unique_ptr<Connection>& c) { return c->endpoint == i; });
  }

  std::vector<Endpoint> endpoints_;
  std::unique_ptr<ssl::context> tls_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  int current_ = 0;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::vector<std::weak_ptr<WatchState>> watches_;
};

namespace {

// Parses one WatchResponse line of the stream into state; false when the stream is over.
bool ApplyWatchLine(const std::string& line, WatchState& state) {
  json msg = json::parse(line, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) {
    state.End(Status::DataLoss("etcd: watch: an answer is not JSON"));
    return false;
  }
  if (msg.contains("error")) {
    const json& err = msg["error"];
    std::string text = err.is_object() && err.contains("message") ? err["message"].dump() : err.dump();
    state.End(Status::Unavailable("etcd: watch ended: " + text));
    return false;
  }
  const json& r = msg.value("result", json::object());
  if (Int64(r, "compact_revision") > 0) {
    state.End(Status::FailedPrecondition(
        "etcd: watch: compacted: etcd no longer holds revision " +
        std::to_string(FromEtcd(Int64(r, "compact_revision")) - 1) + " and older"));
    return false;
  }
  if (Bool(r, "canceled")) {
    state.End(Status::Unavailable("etcd: watch cancelled by etcd: " + r.value("cancel_reason", "")));
    return false;
  }
  std::vector<WatchEvent> events;
  for (const json& ev : r.value("events", json::array())) {
    const json& kv = ev.value("kv", json::object());
    WatchEvent out;
    out.kind = ev.value("type", "PUT") == "DELETE" ? WatchEvent::Kind::kDelete : WatchEvent::Kind::kPut;
    auto key = UnB64(kv.value("key", json()));
    auto value = UnB64(kv.value("value", json()));
    if (!key.ok() || !value.ok()) {
      state.End(Status::DataLoss("etcd: watch: an event holds invalid base64"));
      return false;
    }
    out.key = key->substr(std::min(state.strip, key->size()));
    if (out.kind == WatchEvent::Kind::kPut) out.value = std::move(value).value();
    out.mod_revision = FromEtcd(Int64(kv, "mod_revision"));
    events.push_back(std::move(out));
  }
  if (!events.empty()) {
    std::lock_guard<std::mutex> lock(state.mu);
    for (auto& e : events) state.pending.push_back(std::move(e));
    state.cv.notify_all();
  }
  return true;
}

class EtcdWatcher final : public Watcher {
 public:
  EtcdWatcher(std::shared_ptr<WatchState> state, std::unique_ptr<Connection> conn, std::string url)
      : url_(std::move(url)), state_(std::move(state)), conn_(std::move(conn)) {
    thread_ = std::thread([this] { Read(); });
  }
  ~EtcdWatcher() override {
    state_->Cancel();
    thread_.join();
  }

  Result<std::vector<WatchEvent>> Next(Deadline deadline) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait_until(lock, deadline, [&] {
      return !state_->pending.empty() || state_->end.has_value() || state_->cancelled;
    });
    if (state_->cancelled) return Status::Unavailable("etcd: watch cancelled");
    if (!state_->pending.empty()) {
      std::vector<WatchEvent> out(std::make_move_iterator(state_->pending.begin()),
                                  std::make_move_iterator(state_->pending.end()));
      state_->pending.clear();
      return out;
    }
    if (state_->end) return *state_->end;
    return std::vector<WatchEvent>{};
  }

  void Cancel() override { state_->Cancel(); }

 private:
  // The reading thread: chunked body bytes, one JSON object per line.
  void Read() {
    http::response_parser<http::empty_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    std::string text;
    bool going = true;
    auto on_chunk = [&](std::uint64_t, beast::string_view body, beast::error_code&) {
      text.append(body.data(), body.size());
      std::size_t nl;
      while (going && (nl = text.find('\n')) != std::string::npos) {
        std::string line = text.substr(0, nl);
        text.erase(0, nl + 1);
        if (!line.empty()) going = ApplyWatchLine(line, *state_);
      }
      return body.size();
    };
    parser.on_chunk_body(on_chunk);
    beast::error_code ec;
    conn_->tcp().expires_never();
    conn_->With([&](auto& s) { http::read_header(s, conn_->buffer, parser, ec); });
    if (!ec && parser.get().result_int() != 200) {
      state_->End(Status::Unavailable("etcd: watch: HTTP " + std::to_string(parser.get().result_int())));
      return;
    }
    while (!ec && going && !parser.is_done()) {
      conn_->With([&](auto& s) { http::read_some(s, conn_->buffer, parser, ec); });
    }
    state_->End(Status::Unavailable("etcd: the watch stream from " + url_ + " ended" +
                                    (ec ? ": " + ec.message() : std::string())));
  }

  std::string url_;
  std::shared_ptr<WatchState> state_;
  std::unique_ptr<Connection> conn_;
  std::thread thread_;
};

}  // namespace


Result<std::unique_ptr<EtcdKvStore>> EtcdKvStore::Open(EtcdOptions options) {
  if (options.endpoints.empty()) {
    return Status::InvalidArgument("etcd: no endpoint (--etcd-endpoints URL,...)");
  }
  if (options.cert.empty() != options.key.empty()) {
    return Status::InvalidArgument("etcd: --etcd-cert and --etcd-key go together");
  }
  std::vector<Endpoint> endpoints;
  bool any_tls = false;
  for (const auto& url : options.endpoints) {
    ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(url), "");
    any_tls = any_tls || e.tls;
    endpoints.push_back(std::move(e));
  }
  std::unique_ptr<ssl::context> tls;
  if (any_tls) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1);
    tls->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (options.cacert.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      tls->load_verify_file(options.cacert, ec);
    }
    if (ec) return Status::InvalidArgument("etcd: --etcd-cacert " + options.cacert + ": " + ec.message());
    if (!options.cert.empty()) {
      tls->use_certificate_chain_file(options.cert, ec);
      if (ec) return Status::InvalidArgument("etcd: --etcd-cert " + options.cert + ": " + ec.message());
      tls->use_private_key_file(options.key, ssl::context::pem, ec);
      if (ec) return Status::InvalidArgument("etcd: --etcd-key " + options.key + ": " + ec.message());
    }
  }
  auto client = std::make_unique<Client>(std::move(endpoints), std::move(tls), options.request_timeout);
  std::unique_ptr<EtcdKvStore> store(new EtcdKvStore(std::move(client), options.prefix));
  auto status = store->client_->Post("/v3/maintenance/status", json::object(), true);
  if (!status.ok()) return status.status();
  return store;
}

EtcdKvStore::EtcdKvStore(std::unique_ptr<Client> client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)) {}

EtcdKvStore::~EtcdKvStore() { client_->CancelWatches(); }

namespace {

Result<KeyValue> ParseKv(const json& kv, std::size_t strip) {
  KeyValue out;
  ASSIGN_OR_RETURN(std::string key, UnB64(kv.value("key", json())), "");
  ASSIGN_OR_RETURN(out.value, UnB64(kv.value("value", json())), "");
  out.key = key.substr(std::min(strip, key.size()));
  out.create_revision = FromEtcd(Int64(kv, "create_revision"));
  out.mod_revision = FromEtcd(Int64(kv, "mod_revision"));
  return out;
}

}  // namespace

Result<KeyValue> EtcdKvStore::Get(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("get: empty key");
  ASSIGN_OR_RETURN(json answer, client_->Post("/v3/kv/range", {{"key", B64(prefix_ + key)}}, true),
                   "get");
  const json& kvs = answer.value("kvs", json::array());
  if (kvs.empty()) return Status::NotFound("get: no key " + key);
  return ParseKv(kvs[0], prefix_.size());
}

Result<std::vector<KeyValue>> EtcdKvStore::Range(const std::string& prefix, bool keys_only) {
  std::string from = prefix_ + prefix;
  const std::string end = PrefixEnd(prefix_ + prefix);
  if (from.empty()) from = std::string(1, '\0');
  std::vector<KeyValue> out;
  std::int64_t at = 0;  // etcd revision of the first page, for the rest
  for (;;) {
    json req = {{"key", B64(from)}, {"range_end", B64(end)}, {"limit", std::to_string(kRangePage)}};
    if (keys_only) req["keys_only"] = true;
    if (at > 0) req["revision"] = std::to_string(at);
    ASSIGN_OR_RETURN(json answer, client_->Post("/v3/kv/range", req, true), "range");
    if (at == 0) at = Int64(answer.value("header", json::object()), "revision");
    const json& kvs = answer.value("kvs", json::array());
    for (const json& kv : kvs) {
      ASSIGN_OR_RETURN(KeyValue item, ParseKv(kv, prefix_.size()), "range");
      out.push_back(std::move(item));
    }
    if (!Bool(answer, "more") || kvs.empty()) break;
    from = prefix_ + out.back().key + std::string(1, '\0');
  }
  return out;
}

namespace {

// Whether op `later` makes an earlier op on `key` moot: it puts or deletes that key again.
bool Overrides(const Op& later, const std::string& key) {
  if (later.kind == Op::Kind::kDeletePrefix) return key.starts_with(later.key);
  return later.key == key;
}

// etcd refuses a txn that writes one key twice ("duplicate key given in txn request"):
// keep, of the ops on one key, only the last, which gives the same end state (a put the
// txn then deletes, a delete it then puts). A put under an earlier delete-prefix still
// goes to etcd, which refuses it.
std::vector<const Op*> NetOps(const Txn& txn) {
  std::vector<const Op*> out;
  for (std::size_t i = 0; i < txn.ops.size(); ++i) {
    const Op& op = txn.ops[i];
    bool moot = false;
    for (std::size_t j = i + 1; j < txn.ops.size() && !moot && op.kind != Op::Kind::kDeletePrefix; ++j) {
      moot = Overrides(txn.ops[j], op.key);
    }
    if (!moot) out.push_back(&op);
  }
  return out;
}

}  // namespace

Result<TxnResult> EtcdKvStore::Commit(const Txn& txn) {
  RETURN_IF_ERROR(ValidateTxn(txn), "");
  json compares = json::array();
  for (const Compare& c : txn.compares) {
    if (c.mod_revision == 0) {
      compares.push_back({{"key", B64(prefix_ + c.key)}, {"target", "CREATE"}, {"result", "EQUAL"},
                          {"create_revision", "0"}});
    } else {
      compares.push_back({{"key", B64(prefix_ + c.key)}, {"target", "MOD"}, {"result", "EQUAL"},
                          {"mod_revision", std::to_string(ToEtcd(c.mod_revision))}});
    }
  }
  json ops = json::array();
  for (const Op* net : NetOps(txn)) {
    const Op& op = *net;
    std::string key = prefix_ + op.key;
    switch (op.kind) {
      case Op::Kind::kPut:
        ops.push_back({{"request_put", {{"key", B64(key)}, {"value", B64(op.value)}}}});
        break;
      case Op::Kind::kDelete:
        ops.push_back({{"request_delete_range", {{"key", B64(key)}}}});
        break;
      case Op::Kind::kDeletePrefix:
        ops.push_back({{"request_delete_range", {{"key", B64(key)}, {"range_end", B64(PrefixEnd(key))}}}});
        break;
    }
  }
  json req = {{"compare", compares}, {"success", ops}};
  ASSIGN_OR_RETURN(json answer, client_->Post("/v3/kv/txn", req, false), "commit");
  TxnResult out;
  out.succeeded = Bool(answer, "succeeded");
  out.revision = FromEtcd(Int64(answer.value("header", json::object()), "revision"));
  return out;
}

Result<std::int64_t> EtcdKvStore::Revision() {
  json req = {{"key", B64(prefix_.empty() ? std::string(1, '\0') : prefix_)}, {"count_only", true}};
  ASSIGN_OR_RETURN(json answer, client_->Post("/v3/kv/range", req, true), "revision");
  return FromEtcd(Int64(answer.value("header", json::object()), "revision"));
}

Result<std::unique_ptr<Watcher>> EtcdKvStore::Watch(const std::string& prefix,
                                                    std::int64_t start_revision) {
  if (start_revision < 0) return Status::InvalidArgument("watch: negative start revision");
  std::string key = prefix_ + prefix;
  if (key.empty()) key = std::string(1, '\0');
  const std::string end = PrefixEnd(prefix_ + prefix);
  if (start_revision > 0) {
    // A watch from a compacted revision is created and then cancelled by etcd; a range
    // at that revision says so at once (a compaction after it shows in Next).
    json probe = {{"key", B64(key)}, {"range_end", B64(end)}, {"count_only", true},
                  {"revision", std::to_string(ToEtcd(start_revision))}};
    auto answer = client_->Post("/v3/kv/range", probe, true);
    if (!answer.ok() && answer.status().code() == StatusCode::kFailedPrecondition) {
      return Status::FailedPrecondition("watch: compacted: etcd no longer holds revision " +
                                        std::to_string(start_revision));
    }
    if (!answer.ok() && answer.status().message().find("future revision") == std::string::npos) {
      return answer.status().WithContext("watch");
    }
  }
  if (start_revision == 0) {
    // "From the next change", fixed now: a change made after Watch returns and before
    // etcd has set the watch up is still delivered.
    ASSIGN_OR_RETURN(std::int64_t now, Revision(), "watch");
    start_revision = now + 1;
  }
  json create = {{"key", B64(key)}, {"range_end", B64(end)},
                 {"start_revision", std::to_string(ToEtcd(start_revision))}};
  std::string body = json{{"create_request", create}}.dump();

  ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, client_->DialAny(), "watch");
  const Endpoint& e = client_->endpoint(conn->endpoint);
  http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
  req.set(http::field::host, e.host + ":" + e.port);
  req.set(http::field::content_type, "application/json");
  // etcd's "require leader" (the gateway passes Grpc-Metadata-* on as gRPC metadata): a
  // member that loses its leader, cut off from the majority, ends the watch ("no
  // leader") instead of keeping it open and silent while the others move on.
  req.set("Grpc-Metadata-Hasleader", "true");
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  conn->tcp().expires_after(client_->timeout());
  ec = conn->With([&](auto& s) { return conn->Run([&](auto h) { http::async_write(s, req, h); }); });
  if (ec) return Status::Unavailable("watch: etcd " + e.url + ": " + ec.message());

  auto state = std::make_shared<WatchState>();
  state->fd = conn->tcp().socket().native_handle();
  state->strip = prefix_.size();
  client_->AddWatch(state);
  std::string url = e.url;
  return std::unique_ptr<Watcher>(std::make_unique<EtcdWatcher>(state, std::move(conn), url));
}

}  // namespace ocisecrets
