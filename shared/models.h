// The API's objects, with Docker's field names (see docs/API.md), and their JSON forms.
// Parsing never throws: nlohmann's exceptions stop here and become a Status.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::nanoseconds>;
using Labels = std::map<std::string, std::string>;

// RFC 3339 UTC with nanoseconds: "2026-11-29T23:41:07.123456789Z".
std::string FormatTime(TimePoint t);
// Parses what FormatTime writes (fraction optional, 'Z' required).
Result<TimePoint> ParseTime(std::string_view s);
// Appends FormatTime(t) to out (no allocation of its own).
void AppendTime(std::string& out, TimePoint t);

// Appends s to out as a JSON string literal, quotes included: the bytes nlohmann's dump
// writes, with invalid UTF-8 replaced by U+FFFD instead of thrown. For hand-written JSON
// on hot paths (leases, audit lines, lists).
void AppendJsonString(std::string& out, std::string_view s);

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

// JSON text <-> objects. Every Parse* returns InvalidArgument naming the bad field.
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
Result<SecretSpec> ParseSecretSpec(std::string_view json);
Result<ServiceSpec> ParseServiceSpec(std::string_view json);
Result<Service> ParseService(std::string_view json);
Result<std::vector<Service>> ParseServiceList(std::string_view json);
Result<LeaseRequest> ParseLeaseRequest(std::string_view json);
Result<LeaseGrant> ParseLeaseGrant(std::string_view json);
Result<SecretCreateRequest> ParseSecretCreateRequest(std::string_view json);

// Base64 (standard alphabet, padded). Decode rejects anything else.
std::string Base64Encode(const std::uint8_t* data, std::size_t size);
Result<SecretBytes> Base64Decode(std::string_view text);

}  // namespace ocisecrets
