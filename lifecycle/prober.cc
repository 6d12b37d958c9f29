#include "lifecycle/prober.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <system_error>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "lifecycle/probe_tls.h"

namespace certkeeper::lifecycle {

namespace {

// Probes waiting on slow servers cost a thread each, not CPU: enough to keep
// a run over many endpoints short, few enough for a small host.
constexpr size_t kMaxParallelProbes = 8;
// Probe history older than this is deleted after each run (each endpoint's
// newest probe is always kept).
constexpr auto kProbeHistory = std::chrono::hours(24 * 30);

// Runs work(i) for every i in [0, n) on at most `parallel` threads, the
// calling one among them, and returns when all are done. A thread that cannot
// be started leaves its share to the others.
void ForEachParallel(size_t n, size_t parallel, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i = next++; i < n; i = next++) work(i);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(n, parallel); ++t) {
    try {
      threads.emplace_back(drain);
    } catch (const std::system_error&) {
      break;
    }
  }
  drain();
  for (std::thread& t : threads) t.join();
}

// The roots of each distinct ca_bundle, read once. An unreadable bundle
// makes every chain of its endpoints invalid, with the reason.
std::map<std::string, ProbeTrust> ReadTrust(const std::vector<EndpointSettings>& endpoints) {
  std::map<std::string, ProbeTrust> out;
  out[""] = ProbeTrust{};
  for (const EndpointSettings& e : endpoints) {
    if (e.ca_bundle.empty() || out.count(e.ca_bundle) != 0) continue;
    ProbeTrust trust;
    Result<std::string> pem = fs::ReadFile(e.ca_bundle);
    if (pem.ok()) {
      trust.roots_pem = std::move(*pem);
    } else {
      trust.error = "cannot read the ca_bundle " + e.ca_bundle + ": " + pem.status().message();
    }
    out[e.ca_bundle] = std::move(trust);
  }
  return out;
}

struct LiveLeaf {
  int version = 0;
  std::string fingerprint;
  std::string serial;
};

// The live version of each certificate an endpoint names; a certificate with
// none (or unknown to the inventory) is absent. A failed read is the error.
Result<std::map<std::string, LiveLeaf>> ReadLive(store::Inventory& inventory,
                                                 const std::vector<EndpointSettings>& endpoints) {
  std::map<std::string, LiveLeaf> out;
  for (const EndpointSettings& e : endpoints) {
    if (e.certificate.empty() || out.count(e.certificate) != 0) continue;
    Result<store::Version> live = inventory.LiveVersion(e.certificate);
    if (!live.ok()) {
      if (live.status().code() == ErrorCode::kNotFound) continue;
      return Status(live.status()).Annotate("probe: read the live version of " + e.certificate);
    }
    out[e.certificate] = LiveLeaf{live->n, live->fingerprint_sha256, live->serial};
  }
  return out;
}

// "yes"/"no" when the endpoint names a certificate with a live version and
// served a leaf; a mismatch is also said in the record's error.
void CompareWithLive(const std::map<std::string, LiveLeaf>& live, store::ProbeRecord& record) {
  auto found = live.find(record.certificate);
  if (record.certificate.empty() || found == live.end() || record.fingerprint.empty()) return;
  if (record.fingerprint == found->second.fingerprint) {
    record.live_match = "yes";
    return;
  }
  record.live_match = "no";
  std::string mismatch = "serves a certificate other than the live version " +
                         std::to_string(found->second.version) + " of " + record.certificate +
                         " (serial " + found->second.serial + ")";
  record.error = record.error.empty() ? mismatch : record.error + "; " + mismatch;
}

}  // namespace

Result<std::vector<ProbeView>> Prober::ProbeAll() {
  const std::vector<EndpointSettings>& endpoints = ctx_.config->endpoints;
  if (endpoints.empty()) return std::vector<ProbeView>{};
  // Read before connecting: a failed read ends the run before any connection.
  CK_ASSIGN_OR_RETURN(auto live, ReadLive(*ctx_.inventory, endpoints));
  const std::map<std::string, ProbeTrust> trust = ReadTrust(endpoints);
  // One probe time for the run: chains are judged and records stamped with it.
  const TimePoint now = ctx_.clock->Now();

  std::vector<store::ProbeRecord> records(endpoints.size());
  ForEachParallel(endpoints.size(), kMaxParallelProbes, [&](size_t i) {
    records[i] = ProbeEndpoint(endpoints[i], trust.at(endpoints[i].ca_bundle), now);
  });

  std::vector<ProbeView> out;
  for (store::ProbeRecord& record : records) {
    record.at = now;
    CompareWithLive(live, record);
    CK_ASSIGN_OR_RETURN(record.id, ctx_.inventory->AddProbe(record));
    log::Debug("probed endpoint", {{"endpoint", record.endpoint},
                                   {"ok", record.ok ? "true" : "false"},
                                   {"error", record.error}});
    out.push_back(ToView(record));
  }
  CK_ASSIGN_OR_RETURN(int64_t pruned, ctx_.inventory->PruneProbes(now - kProbeHistory));
  if (pruned > 0) log::Debug("pruned old probes", {{"count", std::to_string(pruned)}});
  return out;
}

ProbeView ToView(const store::ProbeRecord& record) {
  ProbeView v;
  v.endpoint = record.endpoint;
  v.address = record.address;
  v.sni = record.sni;
  v.certificate = record.certificate;
  v.at = record.at;
  v.ok = record.ok;
  v.error = record.error;
  v.handshake_seconds = static_cast<double>(record.handshake_us) / 1e6;
  v.serial = record.serial;
  v.fingerprint = record.fingerprint;
  v.issuer = record.issuer;
  v.names = record.names;
  v.not_before = record.not_before;
  v.not_after = record.not_after;
  v.names_match = record.names_match;
  v.chain_valid = record.chain_valid;
  v.live_match = record.live_match;
  return v;
}

}  // namespace certkeeper::lifecycle
