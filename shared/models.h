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

// A secret's data versions (live secrets, DESIGN.md "Live updates"). JSON "DataVersion":
// {"Index":N,"UpdatedAt":T[,"Previous":M][,"OverlapUntil":T][,"RevokedAt":T]}; a record
// without it (written before versions existed) is version 1, updated at its creation.
struct SecretData {
  std::uint64_t index = 1;     // "Index": the current data version; `secret rotate` adds one
  TimePoint updated_at{};      // "UpdatedAt": when the current version became current
  std::uint64_t previous = 0;  // "Previous": the version `secret rollback` returns to; 0 none
  // "OverlapUntil": set by `rotate --overlap D`: until then the previous value is also
  // granted at TARGET.previous. Zero (absent) when there is no overlap.
  TimePoint overlap_until{};
  // "RevokedAt": set by `secret revoke`: starts that need the secret are refused and
  // running containers lose it, until the next rotate clears it. Zero (absent): not revoked.
  TimePoint revoked_at{};
};

// A secret's metadata. There is no payload field: the API never returns one.
struct Secret {
  std::string id;
  std::uint64_t version = 0;
  TimePoint created_at{};
  TimePoint updated_at{};
  SecretSpec spec;
  SecretData data = {};  // "DataVersion"
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
  // "UpdateSignal" (absent when empty): the signal sent to each container's init after a
  // live change was applied to it, by name as `kill -l` gives it ("SIGHUP"). Empty: none.
  std::string update_signal = {};
};

struct LeaseInfo {
  std::string container_id;
  TimePoint created_at{};
  TimePoint expires_at{};
  std::string node_id = {};  // "NodeID": the node that holds the lease
  // "Versions" (absent when empty): the data version of each secret (by ID) the container
  // holds now: as granted at its start, then as its node reported after each live update.
  std::map<std::string, std::uint64_t> versions = {};
};

struct Service {
  std::string id;
  std::uint64_t version = 0;
  TimePoint created_at{};
  TimePoint updated_at{};
  ServiceSpec spec;
  std::vector<LeaseInfo> leases;
};

// The largest "Pid" a lease request may carry (an int; Linux's pids stay below 2^22).
inline constexpr std::uint64_t kMaxLeasePid = 0x7fffffff;

struct LeaseRequest {
  std::string container_id;
  std::string service;
  // "NodeID", optional: the node the container runs on. Empty: the caller's own node. A
  // caller with the node role may name only itself (403 otherwise).
  std::string node_id = {};
  // "Renewal" (absent when false): the node renews the lease of a container that runs
  // already (a live update). A revoked secret is then left out of the grant (named in its
  // "Revoked") instead of refusing the lease, and the versions recorded as held stay as
  // they are until the node reports what it applied (POST /v1/leases/held).
  bool renewal = false;
  // What the hook tells its local daemon so that the node role can update the container
  // later (never forwarded to a manager): "Pid", the container's init in the host's pid
  // namespace (0: not told, the container is not tracked); "DefaultSecretsDir", the hook's
  // configured dir used when the service names none; "TmpfsSize", the hook's tmpfs size
  // in bytes. All absent when unset.
  int pid = 0;  // at most kMaxLeasePid
  std::string default_secrets_dir = {};
  std::uint64_t tmpfs_size = 0;
};

struct LeasedFile {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0444;
  SecretBytes data;
  std::string secret_id = {};  // "SecretID" (absent when empty): the secret it holds
  std::uint64_t version = 0;   // "Version" (absent when 0): the data version it holds
  // "Previous" (absent when false): the previous value of an overlap (`rotate --overlap`),
  // at TARGET.previous until the secret's OverlapUntil.
  bool previous = false;
};

struct LeaseGrant {
  std::string container_id;
  std::string service;
  std::string secrets_dir;
  TimePoint expires_at{};
  std::vector<LeasedFile> files;
  std::string update_signal = {};  // "UpdateSignal": the service's, absent when empty
  std::string service_id = {};     // "ServiceID": the service's ID, absent when empty
  // "RefreshAt" (absent when zero): the grant changes then without any store change (the
  // earliest OverlapUntil of its files): the node renews the lease at that time.
  TimePoint refresh_at{};
  // "Revoked" (absent when empty): names of revoked secrets a renewal left out.
  std::vector<std::string> revoked = {};
};

// A row of `secret ps` and `service ps`: one secret held by one running container (a
// live lease). JSON keys: "ContainerID", "NodeID", "SecretID", "SecretName", "ServiceID",
// "ServiceName", "Since" (the lease's start), "Version" (the data version held; 0 when
// the node has not said).
struct SecretHolder {
  std::string node_id;
  std::string container_id;
  std::string service_id;
  std::string service_name;
  std::string secret_id;
  std::string secret_name;
  std::uint64_t version = 0;
  TimePoint since{};
};

// POST /v1/secrets/{id}/rotate: {"Data": base64 payload, "OverlapSeconds": N (absent: 0),
// at most kMaxOverlapSeconds, "IfChanged": true (absent: false)}.
inline constexpr std::uint64_t kMaxOverlapSeconds = 366ULL * 24 * 3600;
struct SecretRotateRequest {
  SecretBytes data;
  std::uint64_t overlap_seconds = 0;
  // "IfChanged": a new data version only when data differs from the current payload
  // (compared in constant time); equal, the secret stays as it is and the answer says
  // "Changed": false (`compose import` run again).
  bool if_changed = false;
};

// The answer of a rotate with "IfChanged": the secret's JSON with "Changed": true|false.
struct SecretRotateResult {
  Secret secret;
  bool changed = true;
};

// POST /v1/leases/held: what a node applied. {"NodeID": ID (empty: the caller's node),
// "Containers": [{"ContainerID": C, "Versions": {"SECRET_ID": N, ...}}, ...]}.
struct HeldReport {
  std::string node_id;
  struct Container {
    std::string container_id;
    std::map<std::string, std::uint64_t> versions;
  };
  std::vector<Container> containers;
};

// POST /v1/changes, the node role's long-poll (manager/live/change_feed.h):
// {"Epoch": E, "Since": N, "Secrets": [IDs], "Services": [IDs], "WaitMs": W}.
struct ChangesRequest {
  std::string epoch;                  // the feed's epoch of `since`; empty at first
  std::uint64_t since = 0;            // the last Revision the caller was answered
  std::vector<std::string> secrets;   // IDs the caller's containers hold
  std::vector<std::string> services;  // IDs of the caller's containers' services
  std::uint64_t wait_ms = 0;          // how long to hold the request (capped at 30 s)
};

// Its answer: {"Epoch": E, "Revision": N, "Reset": bool, "Changed": [IDs],
// "ChangedAt": T (absent when nothing changed)}. Reset: the caller's Since is unknown here
// (another manager's epoch, or older than the feed remembers): treat everything as changed.
struct ChangesResponse {
  std::string epoch;
  std::uint64_t revision = 0;
  bool reset = false;
  std::vector<std::string> changed;
  TimePoint changed_at{};  // when the earliest reported change was published
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

// The files of a grant (or of a refresh plan) as the JSON array ToJson(LeaseGrant) writes:
// payloads in base64, keys sorted. Append writes within out's capacity when it has
// LeasedFilesJsonSize(files) bytes to spare, so that no copy of a payload is left in a
// buffer freed on the way; the caller wipes out.
std::size_t LeasedFilesJsonSize(const std::vector<LeasedFile>& files);
void AppendLeasedFilesJson(std::string& out, const std::vector<LeasedFile>& files);

// The live-secrets objects above. The rotate request holds a payload: ToJson's result is
// wiped by the caller; the parser wipes its intermediate copies.
std::string ToJson(const std::vector<SecretHolder>& v);
std::string ToJson(const SecretRotateRequest& r);
std::string ToJson(const SecretRotateResult& r);
std::string ToJson(const HeldReport& r);
std::string ToJson(const ChangesRequest& r);
std::string ToJson(const ChangesResponse& r);
Result<std::vector<SecretHolder>> ParseSecretHolders(std::string_view json);
Result<SecretRotateRequest> ParseSecretRotateRequest(std::string_view json);
Result<SecretRotateResult> ParseSecretRotateResult(std::string_view json);
Result<HeldReport> ParseHeldReport(std::string_view json);
Result<ChangesRequest> ParseChangesRequest(std::string_view json);
Result<ChangesResponse> ParseChangesResponse(std::string_view json);

}  // namespace ocisecrets
