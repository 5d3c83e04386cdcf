// The API's objects, with Docker's field names (see docs/API.md), and their JSON forms.
// Parsing never throws: nlohmann's exceptions stop here and become a Status. Every
// function here is pure and safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// What the JSON forms are made of; included here so that models.h alone still gives
// TimePoint, FormatTime, Base64Encode and AppendJsonString to those who used them from it.
#include "shared/base64.h"
#include "shared/json_text.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"
#include "shared/time_format.h"

namespace ocisecrets {

using Labels = std::map<std::string, std::string>;

struct SecretSpec {
  std::string name;
  Labels labels;
};

// A secret's metadata. There is no payload field: the API never returns one.
struct Secret {
  std::string id;
  std::uint64_t version = 0;
  TimePoint created_at{};
  TimePoint updated_at{};
  SecretSpec spec;
};

struct SecretFile {
  std::string name;       // target; relative means under the service's secrets dir
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0444;
};

struct SecretReference {
  std::string secret_id;
  std::string secret_name;
  SecretFile file;
};

struct ServiceSpec {
  std::string name;
  std::string secrets_dir;  // empty: the hook's default
  Labels labels;
  std::vector<SecretReference> secrets;
  // Placement constraints in their canonical text (shared/constraint.h), ANDed: only
  // nodes that satisfy all may lease. JSON: "Placement":{"Constraints":[...]}, as in
  // Swarm's TaskTemplate, absent when there are none.
  std::vector<std::string> constraints = {};
};

struct LeaseInfo {
  std::string container_id;
  TimePoint created_at{};
  TimePoint expires_at{};
  std::string node_id = {};  // "NodeID": the node that holds the lease
};

struct Service {
  std::string id;
  std::uint64_t version = 0;
  TimePoint created_at{};
  TimePoint updated_at{};
  ServiceSpec spec;
  std::vector<LeaseInfo> leases;
};

struct LeaseRequest {
  std::string container_id;
  std::string service;
  // "NodeID", optional: the node the container runs on. Empty: the caller's own node. A
  // caller with the node role may name only itself (403 otherwise).
  std::string node_id = {};
};

struct LeasedFile {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0444;
  SecretBytes data;
};

struct LeaseGrant {
  std::string container_id;
  std::string service;
  std::string secrets_dir;
  TimePoint expires_at{};
  std::vector<LeasedFile> files;
};

struct SecretCreateRequest {
  SecretSpec spec;
  SecretBytes data;
};

// JSON text <-> objects. ToJson writes compact JSON with nlohmann's (sorted) key order;
// Parse* reads that form fast (canonical_reader.h, secret_sax_reader.h) and any other
// JSON the general way, with the same result. Every Parse* returns InvalidArgument
// "<object>: malformed JSON" for text that is not JSON, else one naming the bad field
// ("lease: Files: field UID: out of range"); no message holds a payload or echoes a value.
// ParseServiceSpec and ParseService also parse every placement constraint and keep its
// canonical text; a bad one is InvalidArgument with ParseConstraint's message.
std::string ToJson(const Secret& s);
std::string ToJson(const std::vector<Secret>& v);
std::string ToJson(const SecretSpec& s);
std::string ToJson(const ServiceSpec& s);
std::string ToJson(const Service& s);
std::string ToJson(const std::vector<Service>& v);
std::string ToJson(const LeaseRequest& r);
// The caller wipes the returned string (WipeString): it holds payloads in base64.
std::string ToJson(const LeaseGrant& g);
std::string ToJson(const SecretCreateRequest& r);  // also holds a payload: wipe it

Result<Secret> ParseSecret(std::string_view json);
Result<std::vector<Secret>> ParseSecretList(std::string_view json);
// A spec with a "Data" field is refused ("only updates to Labels are allowed"), its
// payload wiped.
Result<SecretSpec> ParseSecretSpec(std::string_view json);
Result<ServiceSpec> ParseServiceSpec(std::string_view json);
Result<Service> ParseService(std::string_view json);
Result<std::vector<Service>> ParseServiceList(std::string_view json);
Result<LeaseRequest> ParseLeaseRequest(std::string_view json);
// The two that hold payloads wipe every intermediate copy they make of them; the caller
// still owns (and wipes) the text it passed.
Result<LeaseGrant> ParseLeaseGrant(std::string_view json);
Result<SecretCreateRequest> ParseSecretCreateRequest(std::string_view json);

}  // namespace ocisecrets
